// mechlens adapters
#include <iostream>

#include "commands.hpp"
#include "models/registry.hpp"

namespace mechlens::cli {

int adapters_command(const Args& args) {
  po::options_description options = options_with_help();
  const Parsed p = parse(args, options, {});
  if (p.help) {
    print_help("adapters",
               "Lists the model adapters built in: the name a recipe gives as model.adapter (also the\n"
               "config.json model_type that adapter = \"auto\" picks it by) and what it reads.",
               options);
    return 0;
  }
  std::size_t width = 0;
  for (const auto& a : models::adapters()) width = std::max(width, a.name.size());
  for (const auto& a : models::adapters())
    std::cout << a.name << std::string(width + 2 - a.name.size(), ' ') << a.summary << "\n";
  return 0;
}

}  // namespace mechlens::cli
