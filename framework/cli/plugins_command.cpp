// mechlens plugins
#include <algorithm>
#include <iostream>

#include "commands.hpp"
#include "host/plugin_host.hpp"

namespace mechlens::cli {

int plugins_command(const Args& args) {
  po::options_description options = options_with_help();
  const Parsed p = parse(args, options, {});
  if (p.help) {
    print_help("plugins",
               "Lists every analysis plugin found: name, version, summary and file.\n"
               "Searched, in order: $MECHLENS_PLUGIN_PATH (colon-separated), then the shipped\n"
               "plugins: the build's plugin folder, or lib/mechlens/plugins of the install prefix.",
               options);
    return 0;
  }
  const host::PluginHost host;
  for (const std::string& w : host.warnings()) std::cerr << "mechlens: warning: " << w << "\n";

  std::size_t width = 4, version_width = 7;
  for (const auto& plugin : host.plugins()) {
    width = std::max(width, plugin->name().size());
    version_width = std::max(version_width, plugin->info().version.size());
  }
  for (const auto& plugin : host.plugins()) {
    const PluginInfo& info = plugin->info();
    std::cout << info.name << std::string(width + 2 - info.name.size(), ' ') << info.version
              << std::string(version_width + 2 - info.version.size(), ' ') << info.summary << "\n"
              << std::string(width + version_width + 4, ' ') << plugin->path() << "\n";
  }
  for (const host::PluginProblem& problem : host.problems())
    std::cerr << "mechlens: warning: could not load " << problem.message << "\n";
  if (host.plugins().empty()) {
    std::string dirs;
    for (const std::string& d : host.searched()) dirs += (dirs.empty() ? "" : ", ") + d;
    std::cout << "no plugins found (searched: " << dirs << ")\n";
  }
  return 0;
}

}  // namespace mechlens::cli
