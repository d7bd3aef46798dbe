// Test plugin `no_factory`: the right ABI version, but no factory symbol.
#include "mechlens/plugin.hpp"

extern "C" BOOST_SYMBOL_EXPORT int mechlens_plugin_abi_version() { return ::mechlens::kPluginAbiVersion; }
