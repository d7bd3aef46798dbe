#include "host/prepare.hpp"

#include <algorithm>
#include <set>

#include "host/layer_check.hpp"
#include "mechlens/error.hpp"
#include "models/registry.hpp"

namespace mechlens::host {

namespace {

void check_adapter(const recipe::Recipe& recipe) {
  const std::string& adapter = recipe.model.adapter;
  if (adapter.empty() || adapter == "auto") return;
  const std::vector<std::string> known = models::adapter_names();
  if (std::find(known.begin(), known.end(), adapter) != known.end()) return;
  std::string list;
  for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
  fail(recipe.path + ": model.adapter", "unknown adapter '" + adapter + "' (known: " + list + ")");
}

}  // namespace

std::vector<PreparedAnalysis> prepare_analyses(const recipe::Recipe& recipe, const PluginHost& plugins) {
  check_adapter(recipe);
  std::vector<PreparedAnalysis> prepared;
  std::set<std::string> names;
  for (const recipe::AnalysisEntry& entry : recipe.analyses) {
    // Two analyses writing into one archive group would overwrite each other.
    if (!names.insert(entry.name).second)
      fail(entry.source.where(), entry.label() + ": another analysis already has the name '" + entry.name +
                                     "'; give this one its own `name`");
    std::shared_ptr<const LoadedPlugin> plugin;
    try {
      plugin = plugins.find_shared(entry.plugin);
    } catch (const Error& e) {
      fail(entry.source.where(), entry.label() + ": " + e.what());
    }
    PreparedAnalysis p;
    p.entry = &entry;
    p.params = recipe::validate_params(entry, plugin->info().params);
    p.plugin = std::move(plugin);
    prepared.push_back(std::move(p));
  }
  check_layer_params(prepared, recipe.model.path);
  return prepared;
}

}  // namespace mechlens::host
