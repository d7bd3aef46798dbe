// Test plugin `bad_abi`: built against a "future" plugin ABI. The host must
// refuse it after reading the version and before calling the factory; the
// exported counter lets a test see whether the factory was ever called.
#include "mechlens/plugin.hpp"

extern "C" {
BOOST_SYMBOL_EXPORT int mechlens_test_factory_calls = 0;
}

extern "C" BOOST_SYMBOL_EXPORT int mechlens_plugin_abi_version() { return ::mechlens::kPluginAbiVersion + 1; }

extern "C" BOOST_SYMBOL_EXPORT const ::mechlens::PluginFactory* mechlens_plugin_factory() {
  ++mechlens_test_factory_calls;
  return nullptr;  // a host that calls this anyway gets nothing usable
}
