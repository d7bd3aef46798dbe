#include "host/plugin_host.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "host/install_layout.hpp"
#include "mechlens/abi.hpp"
#include "mechlens/error.hpp"

namespace fs = std::filesystem;

namespace mechlens::host {

namespace {

constexpr const char* kAbiSymbol = "mechlens_plugin_abi_version";
constexpr const char* kFactorySymbol = "mechlens_plugin_factory";
constexpr const char* kPrefix = "mechlens_plugin_";
constexpr const char* kSuffix = ".so";

std::shared_ptr<boost::dll::shared_library> open_library(const std::string& path) {
  auto library = std::make_shared<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  dlerror();  // clear any stale message
  // rtld_now: an unresolved symbol is reported here, by name, not as a crash
  // in the middle of a run. rtld_local: plugins cannot see each other's symbols.
  library->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec || !library->is_loaded()) {
    const char* why = dlerror();
    fail(path, std::string("cannot load plugin: ") + (why ? why : ec.message()));
  }
  return library;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

void AnalysisDeleter::operator()(Analysis* analysis) {
  delete analysis;  // the destructor's code lives in `library`, still held here
  library.reset();
}

std::shared_ptr<const LoadedPlugin> LoadedPlugin::load(const std::string& path) {
  std::shared_ptr<LoadedPlugin> plugin(new LoadedPlugin());
  plugin->path_ = path;
  plugin->library_ = open_library(path);
  boost::dll::shared_library& lib = *plugin->library_;

  // The ABI version comes first: nothing else in a library built against
  // another plugin API may be called, not even describe().
  if (!lib.has(kAbiSymbol))
    fail(path, std::string("not a mechlens plugin: missing symbol '") + kAbiSymbol + "'");
  const int abi = lib.get<int()>(kAbiSymbol)();
  if (abi != kPluginAbiVersion)
    fail(path, "plugin ABI version " + std::to_string(abi) + ", this mechlens expects " +
                   std::to_string(kPluginAbiVersion) + ": rebuild the plugin");

  if (!lib.has(kFactorySymbol)) fail(path, std::string("missing symbol '") + kFactorySymbol + "'");
  plugin->factory_ = lib.get<const PluginFactory*()>(kFactorySymbol)();
  if (!plugin->factory_ || !plugin->factory_->describe || !plugin->factory_->create)
    fail(path, std::string(kFactorySymbol) + "() returned an incomplete factory");
  try {
    plugin->info_ = plugin->factory_->describe();
  } catch (const std::exception& e) {
    fail(path, std::string("describe() failed: ") + e.what());
  }
  if (plugin->info_.name.empty()) fail(path, "describe() returned an empty plugin name");
  return plugin;
}

AnalysisPtr LoadedPlugin::create() const {
  std::unique_ptr<Analysis> made;
  try {
    made = factory_->create();
  } catch (const std::exception& e) {
    fail(path_, "creating '" + info_.name + "' failed: " + e.what());
  }
  if (!made) fail(path_, "creating '" + info_.name + "' returned nothing");
  return AnalysisPtr(made.release(), AnalysisDeleter{library_});
}

std::string plugin_name_from_file(const std::string& filename) {
  const std::string prefix = kPrefix, suffix = kSuffix;
  if (filename.size() <= prefix.size() + suffix.size()) return "";
  if (filename.compare(0, prefix.size(), prefix) != 0) return "";
  if (filename.compare(filename.size() - suffix.size(), suffix.size(), suffix) != 0) return "";
  return filename.substr(prefix.size(), filename.size() - prefix.size() - suffix.size());
}

std::vector<std::string> PluginHost::search_path() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("MECHLENS_PLUGIN_PATH")) {
    std::string list = env;
    std::size_t start = 0;
    while (start <= list.size()) {
      const std::size_t end = std::min(list.find(':', start), list.size());
      if (end > start) dirs.push_back(list.substr(start, end - start));
      start = end + 1;
    }
  }
  // The shipped plugins: the build's folder, or the installed one beside
  // libmechlens.so (never both: an installed copy must not pick up a build's).
  const std::string shipped = install_layout().plugin_dir;
  if (!shipped.empty()) dirs.push_back(shipped);
  return dirs;
}

PluginHost::PluginHost(std::vector<std::string> dirs) {
  std::set<std::string> seen_dirs;
  for (const std::string& dir : dirs) {
    std::error_code ec;
    // The same folder named twice (the env var repeating the default) is scanned once.
    std::string canonical = fs::weakly_canonical(dir, ec).string();
    if (ec) canonical = dir;
    if (!seen_dirs.insert(canonical).second) continue;
    dirs_.push_back(canonical);
    if (!fs::is_directory(canonical, ec)) continue;

    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(canonical, ec))
      if (!plugin_name_from_file(entry.path().filename().string()).empty()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());  // deterministic order within a folder

    for (const fs::path& file : files) {
      const std::string path = file.string();
      try {
        auto plugin = LoadedPlugin::load(path);
        auto same = std::find_if(plugins_.begin(), plugins_.end(),
                                 [&](const auto& p) { return p->name() == plugin->name(); });
        if (same != plugins_.end()) {
          warnings_.push_back("plugin '" + plugin->name() + "' found twice: using " + (*same)->path() +
                              ", ignoring " + path);
          continue;
        }
        plugins_.push_back(std::move(plugin));
      } catch (const Error& e) {
        problems_.push_back({path, plugin_name_from_file(file.filename().string()), e.what()});
      }
    }
  }
}

std::shared_ptr<const LoadedPlugin> PluginHost::find_shared(const std::string& name) const {
  for (const auto& p : plugins_)
    if (p->name() == name) return p;
  for (const auto& problem : problems_)
    if (problem.name == name) throw Error(problem.message);
  std::vector<std::string> names;
  for (const auto& p : plugins_) names.push_back(p->name());
  std::sort(names.begin(), names.end());
  fail("", "no plugin '" + name + "' (found: " + (names.empty() ? std::string("none") : join(names)) +
               "; searched: " + (dirs_.empty() ? std::string("no folders") : join(dirs_)) + ")");
}

const LoadedPlugin& PluginHost::find(const std::string& name) const { return *find_shared(name); }

}  // namespace mechlens::host
