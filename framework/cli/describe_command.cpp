// mechlens describe PLUGIN
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "host/plugin_host.hpp"

namespace mechlens::cli {

namespace {

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string range(const ParamSpec& spec) {
  if (spec.min && spec.max) return "range [" + number(*spec.min) + ", " + number(*spec.max) + "]";
  if (spec.min) return "at least " + number(*spec.min);
  if (spec.max) return "at most " + number(*spec.max);
  return "";
}

// Words wrapped to `width` columns, each line indented by `indent`.
std::string wrap(const std::string& text, std::size_t indent, std::size_t width = 80) {
  std::istringstream words(text);
  std::string word, out, line;
  while (words >> word) {
    if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
      out += std::string(indent, ' ') + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) out += std::string(indent, ' ') + line + "\n";
  return out;
}

}  // namespace

int describe_command(const Args& args) {
  po::options_description options = options_with_help();
  const Parsed p = parse(args, options, {"plugin"});
  if (p.help) {
    print_help("describe PLUGIN",
               "Shows a plugin's version, summary and parameters: type, default (or \"required\"),\n"
               "allowed values or range, and documentation.",
               options);
    return 0;
  }
  if (!p.values.count("plugin")) throw UsageError("describe: missing PLUGIN");
  const host::PluginHost host;
  const host::LoadedPlugin& plugin = host.find(p.values["plugin"].as<std::string>());
  const PluginInfo& info = plugin.info();

  std::cout << info.name << " " << info.version << "\n" << wrap(info.summary, 2) << "  file: " << plugin.path()
            << "\n\n";
  if (info.params.empty()) {
    std::cout << "no parameters\n";
    return 0;
  }
  std::cout << "parameters:\n";
  for (const ParamSpec& spec : info.params) {
    std::cout << "  " << spec.name << " (" << to_string(spec.type) << ", "
              << (spec.default_value ? "default " + to_string(*spec.default_value) : std::string("required"));
    const std::string limits = range(spec);
    if (!limits.empty()) std::cout << ", " << limits;
    std::cout << ")\n";
    if (!spec.allowed.empty()) {
      std::string choices;
      for (const std::string& a : spec.allowed) choices += (choices.empty() ? "" : ", ") + a;
      std::cout << "      one of: " << choices << "\n";
    }
    std::cout << wrap(spec.doc, 6);
  }
  return 0;
}

}  // namespace mechlens::cli
