#pragma once
// Discovery and loading of analysis plugins (Boost.DLL).
//
// A plugin is `mechlens_plugin_<name>.so` exporting two C symbols (plugin.hpp):
// `mechlens_plugin_abi_version` and `mechlens_plugin_factory`. The ABI version
// is checked before anything else in the library is called. Every Analysis
// created from a plugin holds a reference to its library, so the code of the
// object's destructor and virtual functions cannot be unloaded under it.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mechlens/plugin.hpp"

namespace boost::dll {
class shared_library;
}

namespace mechlens::host {

// Deletes the Analysis, then lets go of the library that holds its code
// (at once: unique_ptr::reset() keeps the deleter, which must not keep the library).
struct AnalysisDeleter {
  std::shared_ptr<boost::dll::shared_library> library;
  void operator()(Analysis* analysis);
};
using AnalysisPtr = std::unique_ptr<Analysis, AnalysisDeleter>;

class LoadedPlugin {
 public:
  // Loads one library: ABI check first, then the factory and describe().
  // Errors name the file (and the symbol, for a missing one).
  static std::shared_ptr<const LoadedPlugin> load(const std::string& path);

  const PluginInfo& info() const { return info_; }
  const std::string& name() const { return info_.name; }
  const std::string& path() const { return path_; }
  AnalysisPtr create() const;
  // The plugin's report section (null: the host's generic one).
  ReportFunction report() const { return factory_->report; }
  // How its results combine across shards (null: merge.hpp's defaults).
  MergeFunction merge() const { return factory_->merge; }

 private:
  LoadedPlugin() = default;
  std::shared_ptr<boost::dll::shared_library> library_;
  const PluginFactory* factory_ = nullptr;
  PluginInfo info_;
  std::string path_;
};

// A plugin file that could not be loaded, kept so that asking for it by
// name reports why instead of "no plugin".
struct PluginProblem {
  std::string path;
  std::string name;  // from the file name: mechlens_plugin_<name>.so
  std::string message;
};

class PluginHost {
 public:
  // Scans `dirs` in order (missing folders are skipped). The first plugin of
  // a name wins; later ones are reported in warnings(). Files that fail to
  // load are kept in problems(), so one stale plugin does not stop the rest.
  explicit PluginHost(std::vector<std::string> dirs = search_path());

  // MECHLENS_PLUGIN_PATH (colon-separated, first so users can override), then
  // the shipped plugins: the build's plugin folder when running from the
  // build tree, else <libdir>/mechlens/plugins beside the installed
  // libmechlens.so (host/install_layout.hpp).
  static std::vector<std::string> search_path();

  const std::vector<std::shared_ptr<const LoadedPlugin>>& plugins() const { return plugins_; }
  const std::vector<PluginProblem>& problems() const { return problems_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  const std::vector<std::string>& searched() const { return dirs_; }

  // The plugin called `name`, or an Error listing what was found and where
  // it looked (or why the file of that name failed to load).
  const LoadedPlugin& find(const std::string& name) const;
  std::shared_ptr<const LoadedPlugin> find_shared(const std::string& name) const;

 private:
  std::vector<std::string> dirs_;
  std::vector<std::shared_ptr<const LoadedPlugin>> plugins_;
  std::vector<PluginProblem> problems_;
  std::vector<std::string> warnings_;
};

// "mechlens_plugin_x.so" → "x"; "" when the name does not match the pattern.
std::string plugin_name_from_file(const std::string& filename);

}  // namespace mechlens::host
