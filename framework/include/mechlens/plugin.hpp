#pragma once
// An analysis plugin: one shared library, one class, one registration macro.
//
//   class LogitLens : public mechlens::Analysis {
//    public:
//     static mechlens::PluginInfo describe();   // name, version, summary, parameters
//     void run(mechlens::RunContext& ctx) override;
//     // Optional: its section of `mechlens report`, drawn from the archive alone.
//     static void report(const mechlens::GroupView& group, mechlens::ReportPage& page);
//     // Optional: how its results combine across shards (merge.hpp).
//     static mechlens::MergeRules merge_rules(const mechlens::ParamValues& params);
//   };
//   MECHLENS_PLUGIN(LogitLens)
//
// MECHLENS_PLUGIN finds a public static `report` of that signature by itself;
// a plugin without one gets the host's generic section (its datasets listed,
// 2-D float datasets drawn as heat maps).
#include <boost/config.hpp>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "mechlens/abi.hpp"
#include "mechlens/merge.hpp"
#include "mechlens/params.hpp"

namespace mechlens {

struct RunContext;
class GroupView;   // archive_view.hpp
class ReportPage;  // report_page.hpp

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

// Draws the plugin's report section from its analysis group (read-only).
// May throw (MissingData for an absent dataset): the host then shows the
// message, and the generic section, in its place.
using ReportFunction = void (*)(const GroupView& group, ReportPage& page);

// What the library exports: describe(), create() and report (may be null).
struct PluginFactory {
  PluginInfo (*describe)();
  std::unique_ptr<Analysis> (*create)();
  ReportFunction report = nullptr;  // since plugin ABI 3
  MergeFunction merge = nullptr;    // since plugin ABI 4; null: merge.hpp's defaults
};

namespace detail {
// AnalysisClass::report if it has a public static one of ReportFunction's type, else nullptr.
template <typename T, typename = void>
struct ReportOf {
  static constexpr ReportFunction value = nullptr;
};
template <typename T>
struct ReportOf<T, std::void_t<decltype(static_cast<ReportFunction>(&T::report))>> {
  static constexpr ReportFunction value = static_cast<ReportFunction>(&T::report);
};
// AnalysisClass::merge_rules if it has a public static one of MergeFunction's type, else nullptr.
template <typename T, typename = void>
struct MergeOf {
  static constexpr MergeFunction value = nullptr;
};
template <typename T>
struct MergeOf<T, std::void_t<decltype(static_cast<MergeFunction>(&T::merge_rules))>> {
  static constexpr MergeFunction value = static_cast<MergeFunction>(&T::merge_rules);
};
}  // namespace detail

}  // namespace mechlens

#define MECHLENS_PLUGIN(AnalysisClass)                                                     \
  extern "C" BOOST_SYMBOL_EXPORT int mechlens_plugin_abi_version() {                       \
    return ::mechlens::kPluginAbiVersion;                                                  \
  }                                                                                        \
  extern "C" BOOST_SYMBOL_EXPORT const ::mechlens::PluginFactory* mechlens_plugin_factory() { \
    static const ::mechlens::PluginFactory factory{                                        \
        &AnalysisClass::describe,                                                          \
        []() -> std::unique_ptr<::mechlens::Analysis> { return std::make_unique<AnalysisClass>(); }, \
        ::mechlens::detail::ReportOf<AnalysisClass>::value,                                \
        ::mechlens::detail::MergeOf<AnalysisClass>::value};                               \
    return &factory;                                                                       \
  }
