// mechlens validate RECIPE [--set key=value]...
#include <iostream>

#include "commands.hpp"
#include "host/plugin_host.hpp"
#include "host/prepare.hpp"
#include "recipe/recipe.hpp"

namespace mechlens::cli {

int validate_command(const Args& args) {
  po::options_description options = options_with_help();
  options.add_options()
      ("set", po::value<std::vector<std::string>>()->composing(), "override a recipe value: dotted.key=value (repeatable)");
  const Parsed p = parse(args, options, {"recipe"});
  if (p.help) {
    print_help("validate RECIPE [--set key=value]...",
               "Checks the recipe against the schema and every analysis' parameters against its\n"
               "plugin's declaration. No model is loaded.",
               options);
    return 0;
  }
  if (!p.values.count("recipe")) throw UsageError("validate: missing RECIPE");
  const std::vector<std::string> sets =
      p.values.count("set") ? p.values["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
  const recipe::Recipe recipe = recipe::load(p.values["recipe"].as<std::string>(), sets);

  const host::PluginHost plugins;
  for (const std::string& w : plugins.warnings()) std::cerr << "mechlens: warning: " << w << "\n";
  const auto analyses = host::prepare_analyses(recipe, plugins);
  std::cout << "ok: " << recipe.inputs.size() << " inputs, " << analyses.size() << " analyses\n";
  return 0;
}

}  // namespace mechlens::cli
