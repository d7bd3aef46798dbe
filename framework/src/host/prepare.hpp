#pragma once
// A recipe's analyses matched to their plugins and their parameters checked
// against each plugin's declaration: everything that can be wrong in a
// recipe is found here, before a model is loaded (`mechlens validate` stops here).
#include <memory>
#include <vector>

#include "host/plugin_host.hpp"
#include "recipe/recipe.hpp"

namespace mechlens::host {

struct PreparedAnalysis {
  const recipe::AnalysisEntry* entry = nullptr;  // points into the recipe
  std::shared_ptr<const LoadedPlugin> plugin;
  ParamValues params;  // validated, defaults filled in
};

// Errors name the recipe file, the key and its line (recipe::validate_params),
// or the analysis whose plugin is missing. Also checks that the recipe's
// model adapter exists ("auto" and "" are resolved from config.json at load).
std::vector<PreparedAnalysis> prepare_analyses(const recipe::Recipe& recipe, const PluginHost& plugins);

}  // namespace mechlens::host
