// mechlens report FILE.h5 [--run N|all] [-o report.html]
#include <iostream>

#include "commands.hpp"
#include "host/archive_report.hpp"
#include "host/plugin_host.hpp"

namespace mechlens::cli {

int report_command(const Args& args) {
  po::options_description options = options_with_help();
  options.add_options()
      ("run", po::value<std::string>()->default_value("all"), "which run: a number (3 or run_0003) or all")
      ("out,o", po::value<std::string>(), "page to write (default: the archive's name with .html, beside it)");
  const Parsed p = parse(args, options, {"file"});
  if (p.help) {
    print_help("report FILE.h5 [--run N|all] [-o report.html]",
               "Writes one self-contained HTML page (works offline) for an archive: per run the\n"
               "provenance, the inputs, and one section per analysis with its findings first, each\n"
               "drawn from the archive alone by its plugin (a generic view for plugins without a\n"
               "report function, or not installed here). Parts the archive lacks are said on the page.",
               options);
    return 0;
  }
  if (!p.values.count("file")) throw UsageError("report: missing FILE");
  host::ReportRequest request;
  request.archive = p.values["file"].as<std::string>();
  request.runs = p.values["run"].as<std::string>();
  if (p.values.count("out")) request.output = p.values["out"].as<std::string>();
  const host::PluginHost plugins;
  const host::ReportResult result = host::write_report(request, plugins);
  std::cout << "report: " << result.path << " (" << result.sections << " analysis sections, " << result.figures
            << " figures" << (result.notes ? ", " + std::to_string(result.notes) + " notes on missing parts" : "")
            << ")\n";
  return 0;
}

}  // namespace mechlens::cli
