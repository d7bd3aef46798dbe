#include "host/run.hpp"

#include <ATen/Parallel.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <thread>

#include "checkpoint/load_warnings.hpp"
#include "host/blas_info.hpp"
#include "host/parallel_reach.hpp"
#include "host/console.hpp"
#include "host/finite_check.hpp"
#include "host/inputs.hpp"
#include "host/plugin_host.hpp"
#include "host/prepare.hpp"
#include "host/provenance.hpp"
#include "host/resume_check.hpp"
#include "mechlens/error.hpp"
#include "models/registry.hpp"
#include "report/figure_folder.hpp"
#include "store/archive.hpp"
#include "store/archive_format.hpp"
#include "store/archive_view.hpp"
#include "store/resumable_run.hpp"
#include "store/hdf5_handles.hpp"  // utc_now_iso8601: one clock format for runs and analyses

namespace fs = std::filesystem;

namespace mechlens::host {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string fixed(double v, int digits = 2) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
  return buffer;
}

// Recipe threads = 0 means "all cores": libtorch's own default here is 1.
int choose_threads(std::int64_t requested) {
  if (requested > 0) return static_cast<int>(requested);
  const unsigned cores = std::thread::hardware_concurrency();
  return cores > 0 ? static_cast<int>(cores) : 1;
}

// A resumed run skips analyses that finished before the interruption. The
// mark lives in provenance/ (the host's group), not among the plugin's own units.
std::string analysis_unit(const std::string& name) { return "analysis." + name; }

// After a failure with the run's `.partial` closed: kept for --resume when it
// reads back with its unfinished run (an analysis threw), removed when it does
// not (a write failed half way, e.g. the disk is full), so that it never
// blocks the next attempt with a file --resume cannot use.
std::string partial_fate(const std::string& archive) {
  const std::string partial = archive + store::kPartialSuffix;
  std::error_code ec;
  if (!fs::exists(partial, ec)) return "";
  if (store::resumable_run_reads_back(archive))
    return " (what was written is kept in " + partial + ": fix the cause and continue with --resume, or delete it)";
  fs::remove(partial, ec);
  if (ec) return " (" + partial + " cannot be read back, nor removed: " + ec.message() + "; delete it by hand)";
  return " (" + partial + " could not be read back after this failure and was removed; the archive '" + archive +
         "' is untouched)";
}

// True while another process holds the HDF5 file lock (a run writing it).
bool in_use(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool locked = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return locked;
}

// --resume on a `.partial` that cannot be read back (killed while HDF5 was
// writing it) or holds no run to continue would fail the same way on every
// attempt: remove it and say so, so that the next plain run starts afresh.
// A file another run is writing right now is left alone.
void remove_unresumable_partial(const std::string& archive) {
  const std::string partial = archive + store::kPartialSuffix;
  std::error_code ec;
  if (!fs::exists(partial, ec) || in_use(partial)) return;
  std::string problem;
  if (store::resumable_run_reads_back(archive, &problem)) return;
  fs::remove(partial, ec);
  fail(partial, "nothing to resume: " + problem + (ec ? "; delete the file by hand" : "; the file was removed") +
                    ", run again without --resume (the archive '" + archive + "' is intact)");
}

enum class ShardStart { fresh, resume, done };

// A requeued array task runs `--shard I/N --resume` again: continue the
// `.partial` if there is one that reads back, stop if the shard's archive is
// already written, else start afresh (first attempt, or killed before the
// `.partial` could be read back: then it is removed, as a plain --resume would).
ShardStart shard_start(const std::string& archive, Logger& log) {
  const std::string partial = archive + store::kPartialSuffix;
  std::error_code ec;
  if (fs::exists(partial, ec)) {
    if (in_use(partial) || store::resumable_run_reads_back(archive)) return ShardStart::resume;
    fs::remove(partial, ec);
    log.warn(partial + " could not be read back (killed while it was written?): removed, the shard starts afresh");
    return fs::exists(archive, ec) ? ShardStart::done : ShardStart::fresh;
  }
  if (fs::exists(archive, ec)) {
    log.info(archive + " is already written: nothing to resume (delete it to run the shard again)");
    return ShardStart::done;
  }
  log.info("no " + partial + ": the shard starts afresh");
  return ShardStart::fresh;
}

// The last run of a finished archive ("" if it has none).
std::string last_run_name(const std::string& archive) {
  const std::unique_ptr<GroupView> runs = store::open_archive_view(archive)->group(store::kRunsGroup);
  const std::vector<std::string> names = runs->groups();
  std::string last;
  for (const std::string& n : names)
    if (store::run_number(n) && (last.empty() || *store::run_number(n) > *store::run_number(last))) last = n;
  return last;
}

}  // namespace

std::string archive_path(const recipe::Recipe& recipe, const std::string& out) {
  const std::string path = out.empty() ? recipe.experiment.output : out;
  if (path.empty()) fail(recipe.path, "no output archive: set experiment.output or pass --out");
  return fs::absolute(path).lexically_normal().string();
}

RunResult run_recipe(const recipe::Recipe& recipe, const RunOptions& options) {
  StderrLogger stderr_logger(options.verbose);
  StderrProgress stderr_progress(options.verbose);
  Logger& log = options.logger ? *options.logger : stderr_logger;
  Progress& progress = options.progress ? *options.progress : stderr_progress;
  auto* console = dynamic_cast<StderrProgress*>(&progress);
  const auto run_start = Clock::now();

  // 1. Plugins and parameters: every recipe error before any expensive work.
  const PluginHost plugins(options.plugin_dirs.empty() ? PluginHost::search_path() : options.plugin_dirs);
  for (const std::string& w : plugins.warnings()) log.warn(w);
  const std::vector<PreparedAnalysis> analyses = prepare_analyses(recipe, plugins);

  RunEnvironment env;
  env.command_line = options.command_line;
  env.archive = archive_path(recipe, options.out);
  // A shard writes its own archive; its provenance names the merged one (the
  // resolved recipe of every shard is then the same text).
  const std::string target = options.shard ? shard_archive_path(env.archive, *options.shard) : env.archive;
  InputRange range{0, recipe.inputs.size()};
  bool resume = options.resume;
  if (options.shard) {
    check_shardable(analyses);
    range = shard_inputs(*options.shard, recipe.inputs.size(), recipe.path);
    if (resume) {
      const ShardStart start = shard_start(target, log);
      if (start == ShardStart::done) {
        RunResult done;
        done.archive = target;
        done.run_name = last_run_name(target);
        return done;
      }
      resume = start == ShardStart::resume;
    }
  }

  // 2. Threads and BLAS.
  env.threads = choose_threads(recipe.model.threads);
  at::set_num_threads(env.threads);
  log.info("threads: " + std::to_string(at::get_num_threads()));
  if (const int reached = parallel_for_threads(); reached < at::get_num_threads())
    log.warn("at::parallel_for reaches " + std::to_string(reached) + " of " + std::to_string(at::get_num_threads()) +
             " threads in mechlens' own code: it was built without OpenMP (attention runs slower); rebuild with "
             "-fopenmp (CMake finds OpenMP when the compiler supports it)");
  const BlasInfo blas = detect_blas();
  env.blas = blas.kind_name();
  log.info(blas.describe());
  for (const std::string& w : blas.warnings()) log.warn(w);

  // 3. Model and inputs.
  auto t = Clock::now();
  std::unique_ptr<Model> model =
      models::load(recipe.model.adapter, {recipe.model.path, recipe.model.dtype, recipe.model.device, recipe.model.lora});
  const double load_seconds = seconds_since(t);
  for (const std::string& w : checkpoint::take_load_warnings()) log.warn(w);
  const Geometry g = model->geometry();
  log.info("model: " + recipe.model.adapter + " (" + std::to_string(g.n_layers) + " layers x " +
           std::to_string(g.n_heads) + " heads, d_model " + std::to_string(g.d_model) + ") from " +
           recipe.model.path + " in " + fixed(load_seconds) + " s");
  t = Clock::now();
  // A shard encodes every input (RunContext::recipe_inputs) and runs its block.
  const std::vector<EncodedInput> recipe_inputs = encode_inputs(*model, recipe.inputs);
  const std::vector<EncodedInput> inputs(recipe_inputs.begin() + static_cast<std::ptrdiff_t>(range.first),
                                         recipe_inputs.begin() + static_cast<std::ptrdiff_t>(range.last));
  const double encode_seconds = seconds_since(t);
  log.info("encoded " + std::to_string(inputs.size()) + " inputs in " + fixed(encode_seconds, 3) + " s");
  t = Clock::now();
  check_clean_forward(*model, inputs);
  const double check_seconds = seconds_since(t);
  log.info("clean forward of every input finite in " + fixed(check_seconds, 3) + " s");

  // 4. The archive: nothing touches it before this point.
  if (resume) {
    remove_unresumable_partial(target);
    check_resume_matches(target, resolved_recipe_toml(recipe, analyses, env.archive), inputs, model->identity());
  }
  std::unique_ptr<store::RunWriter> run = store::open_run(target, resume);
  try {
    log.info((run->resumed() ? "resuming " : "writing ") + run->run_name() + " of " + target);
    write_run_provenance(*run, recipe, analyses, env);
    if (options.shard) write_shard_provenance(*run, *options.shard, range, recipe.inputs);
    write_model_provenance(*run, recipe.model, *model);
    write_inputs(*run, inputs, *model);
    std::unique_ptr<ResultGroup> provenance = run->group("provenance");
    provenance->set_attr("time.load_model", load_seconds);
    provenance->set_attr("time.encode", encode_seconds);
    provenance->set_attr("time.check_finite", check_seconds);

    RunResult result;
    result.run_name = run->run_name();
    for (const PreparedAnalysis& analysis : analyses) {
      const std::string& name = analysis.entry->name;
      const std::string who = "analysis '" + name + "' (" + analysis.plugin->name() + ")";
      std::unique_ptr<ResultGroup> group = run->analysis(name);
      if (run->resumed() && provenance->unit_done(analysis_unit(name))) {
        log.info(who + ": finished before the interruption, skipped");
        continue;
      }
      write_analysis_provenance(*group, analysis);
      write_input_coordinate(*group, inputs);
      group->set_attr("status", std::string("running"));
      group->set_attr("started_at", store::h5::utc_now_iso8601());
      report::FigureFolder figures(report::figure_directory(target, run->run_name(), name));
      std::vector<std::string> findings;
      RunContext ctx{*model, inputs, *group, analysis.params, progress, log, findings, figures,
                     options.shard ? &recipe_inputs : nullptr};

      if (console) console->set_prefix(name);
      if (options.logger) log.info("running " + who);
      else stderr_logger.notice("running " + who);
      const auto analysis_start = Clock::now();
      try {
        AnalysisPtr instance = analysis.plugin->create();
        instance->run(ctx);
      } catch (const std::exception& e) {
        if (console) console->end_line();
        fail(who, e.what());
      } catch (...) {
        if (console) console->end_line();
        fail(who, "threw something that is not a std::exception");
      }
      if (console) console->end_line();
      const double seconds = seconds_since(analysis_start);
      group->set_attr("status", std::string("complete"));
      group->set_attr("finished_at", store::h5::utc_now_iso8601());
      group->set_attr("seconds", seconds);
      group->set_attr("findings", findings);
      provenance->set_attr("time.analysis." + name, seconds);
      provenance->mark_unit_done(analysis_unit(name));
      log.info(who + ": " + fixed(seconds) + " s");
      for (std::string& f : findings) result.findings.push_back({name, std::move(f)});
      for (const std::string& png : figures.written()) result.figures.push_back(png);
    }

    provenance->set_attr("time.total", seconds_since(run_start));
    provenance.reset();
    result.archive = run->finish();
    return result;
  } catch (const std::exception& e) {
    // The run stays unfinished; the archive itself is untouched. Close the
    // `.partial` first, then say whether it can be resumed.
    run.reset();
    throw Error(e.what() + partial_fate(target));
  }
}

}  // namespace mechlens::host
