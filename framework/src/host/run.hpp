#pragma once
// `mechlens run`: recipe → plugins → model → archive.
//
// Order matters: every analysis' parameters are validated against its
// plugin's declaration before the model is loaded (a typo costs no model
// load), the archive is opened only once the model loads and every input
// encodes, and it is renamed into place only when every analysis finished.
// A failing analysis leaves the archive untouched and its `.partial` file
// (with what was written so far) for `--resume`.
#include <optional>
#include <string>
#include <vector>

#include "host/shard.hpp"
#include "mechlens/run_context.hpp"
#include "recipe/recipe.hpp"

namespace mechlens::host {

struct RunOptions {
  std::string out;             // archive path; empty = the recipe's experiment.output
  bool resume = false;         // continue the unfinished run in `<out>.partial`
  bool verbose = false;        // model, BLAS, threads and timings on the log
  Logger* logger = nullptr;    // null = stderr
  Progress* progress = nullptr;  // null = stderr
  std::string command_line;    // recorded in the run's provenance
  // Plugin folders; empty = PluginHost::search_path().
  std::vector<std::string> plugin_dirs;
  // Run only this shard's block of the inputs, into shard_archive_path(out)
  // (host/shard.hpp). With `resume`, a shard also starts afresh when it has
  // no `.partial`, and stops at once when its archive is already written, so
  // that a requeued array task simply runs the same command again.
  std::optional<Shard> shard;
};

struct Finding {
  std::string analysis;  // the analysis' name in the recipe (its archive group)
  std::string text;
};

struct RunResult {
  std::string archive;   // final path of the archive
  std::string run_name;  // "run_0001"
  std::vector<Finding> findings;
  std::vector<std::string> figures;  // PNG files written
};

RunResult run_recipe(const recipe::Recipe& recipe, const RunOptions& options = {});

// The archive a recipe writes to: `out` (made absolute) if given, else the recipe's.
std::string archive_path(const recipe::Recipe& recipe, const std::string& out);

}  // namespace mechlens::host
