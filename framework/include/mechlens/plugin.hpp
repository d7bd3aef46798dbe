#pragma once
// An analysis plugin: one shared library, one class, one registration macro.
//
//   class LogitLens : public mechlens::Analysis {
//    public:
//     static mechlens::PluginInfo describe();   // name, version, summary, parameters
//     void run(mechlens::RunContext& ctx) override;
//   };
//   MECHLENS_PLUGIN(LogitLens)
#include <boost/config.hpp>

#include <memory>
#include <string>
#include <vector>

#include "mechlens/abi.hpp"
#include "mechlens/params.hpp"

namespace mechlens {

struct RunContext;

struct PluginInfo {
  std::string name;
  std::string version;
  std::string summary;
  std::vector<ParamSpec> params;
};

class Analysis {
 public:
  virtual ~Analysis() = default;
  virtual void run(RunContext& ctx) = 0;
};

// What the library exports: describe() and create(), nothing else.
struct PluginFactory {
  PluginInfo (*describe)();
  std::unique_ptr<Analysis> (*create)();
};

}  // namespace mechlens

#define MECHLENS_PLUGIN(AnalysisClass)                                                     \
  extern "C" BOOST_SYMBOL_EXPORT int mechlens_plugin_abi_version() {                       \
    return ::mechlens::kPluginAbiVersion;                                                  \
  }                                                                                        \
  extern "C" BOOST_SYMBOL_EXPORT const ::mechlens::PluginFactory* mechlens_plugin_factory() { \
    static const ::mechlens::PluginFactory factory{                                        \
        &AnalysisClass::describe,                                                          \
        []() -> std::unique_ptr<::mechlens::Analysis> { return std::make_unique<AnalysisClass>(); }}; \
    return &factory;                                                                       \
  }
