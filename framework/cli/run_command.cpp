// mechlens run RECIPE [--set key=value]... [--out FILE] [--resume] [-v]
#include <iostream>

#include "commands.hpp"
#include "host/archive_report.hpp"
#include "host/plugin_host.hpp"
#include "host/run.hpp"
#include "recipe/recipe.hpp"

namespace mechlens::cli {

int run_command(const Args& args) {
  po::options_description options = options_with_help();
  options.add_options()
      ("set", po::value<std::vector<std::string>>()->composing(),
       "override a recipe value: dotted.key=value (repeatable), e.g. --set analysis.0.ablation=identity")
      ("out,o", po::value<std::string>(), "archive to write (default: the recipe's experiment.output)")
      ("resume", "continue the unfinished run kept in <archive>.partial")
      ("shard", po::value<std::string>(),
       "I/N: run only the I-th of N contiguous blocks of the inputs (I from 0) into <archive stem>.shard-I-of-N.h5; "
       "with --resume it continues, starts or skips the shard as needed (Slurm requeue); join with 'mechlens merge'")
      ("report", "at the end, write the archive's HTML page beside it (as 'mechlens report')")
      ("verbose,v", "log the model, BLAS, threads and timings");
  const Parsed p = parse(args, options, {"recipe"});
  if (p.help) {
    print_help("run RECIPE [--set key=value]... [--out FILE] [--resume] [--shard I/N] [--report] [-v]",
               "Runs every analysis of the recipe and writes one run into the archive.\n"
               "Progress goes to stderr; the findings and the archive path to stdout.",
               options);
    return 0;
  }
  if (!p.values.count("recipe")) throw UsageError("run: missing RECIPE");

  const std::vector<std::string> sets =
      p.values.count("set") ? p.values["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
  const recipe::Recipe recipe = recipe::load(p.values["recipe"].as<std::string>(), sets);

  host::RunOptions run;
  if (p.values.count("out")) run.out = p.values["out"].as<std::string>();
  run.resume = p.values.count("resume") != 0;
  run.verbose = p.values.count("verbose") != 0;
  if (p.values.count("shard")) run.shard = host::parse_shard(p.values["shard"].as<std::string>());
  run.command_line = "mechlens run";
  for (const std::string& a : args) run.command_line += " " + a;
  const host::RunResult result = host::run_recipe(recipe, run);

  for (const host::Finding& f : result.findings) std::cout << f.analysis << ": " << f.text << "\n";
  if (!result.figures.empty()) std::cout << "figures: " << result.figures.size() << " PNG files, e.g. "
                                         << result.figures.front() << "\n";
  std::cout << "results: " << result.archive << " (" << result.run_name << ")\n";
  if (p.values.count("report")) {
    host::ReportRequest request;
    request.archive = result.archive;
    const host::ReportResult page = host::write_report(request, host::PluginHost());
    std::cout << "report: " << page.path << "\n";
  }
  return 0;
}

}  // namespace mechlens::cli
