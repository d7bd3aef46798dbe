// mechlens slurm RECIPE --shards N [--partition P] [--time T] [--gpus G] [--out FILE] [--set k=v]... [--submit]
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "host/plugin_host.hpp"
#include "host/prepare.hpp"
#include "host/run.hpp"
#include "host/shard.hpp"
#include "host/slurm_scripts.hpp"
#include "mechlens/error.hpp"
#include "recipe/recipe.hpp"

namespace fs = std::filesystem;

namespace mechlens::cli {

namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) fail(path, "cannot write");
  fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
}

// Runs `sbatch --parsable ARGS SCRIPT` and returns the job id it prints.
std::string sbatch(const std::string& args, const std::string& script) {
  const std::string command = "sbatch --parsable " + args + " " + host::shell_quote(script) + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) fail(script, "cannot start sbatch");
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  const int status = ::pclose(pipe);
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  if (status != 0 || output.empty())
    fail(script, "sbatch failed (exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                     "): " + (output.empty() ? std::string("no output; is Slurm installed and on PATH?") : output));
  const std::size_t semicolon = output.find(';');  // "<id>;<cluster>" on federated clusters
  const std::string id = output.substr(output.rfind('\n') == std::string::npos ? 0 : output.rfind('\n') + 1);
  return id.substr(0, semicolon == std::string::npos ? std::string::npos : id.find(';'));
}

}  // namespace

int slurm_command(const Args& args) {
  po::options_description options = options_with_help();
  options.add_options()
      ("shards", po::value<int>(), "N: array tasks, one contiguous block of the inputs each")
      ("partition", po::value<std::string>(), "Slurm partition (default: the cluster's)")
      ("time", po::value<std::string>(), "time limit per task, as sbatch --time (e.g. 4:00:00)")
      ("gpus", po::value<int>(), "GPUs per task (sbatch --gpus)")
      ("out,o", po::value<std::string>(), "merged archive (default: the recipe's experiment.output); shards go beside it")
      ("set", po::value<std::vector<std::string>>()->composing(), "override a recipe value (repeatable), passed to every task")
      ("scripts", po::value<std::string>(), "folder for the scripts and logs/ (default: <archive stem>_slurm beside the archive)")
      ("submit", "submit the array job and the merge job (afterok) with sbatch and print their job ids");
  const Parsed p = parse(args, options, {"recipe"});
  if (p.help) {
    print_help("slurm RECIPE --shards N [--partition P] [--time T] [--gpus G] [--out FILE] [--set k=v]... [--submit]",
               "Writes two sbatch scripts: an array job (--array=0-(N-1), --requeue, a log per task) whose task I\n"
               "runs `mechlens run RECIPE --shard I/N --resume`, and a merge job (`mechlens merge`) to run after\n"
               "every task succeeded. --submit hands both to sbatch and prints the job ids.",
               options);
    return 0;
  }
  if (!p.values.count("recipe")) throw UsageError("slurm: missing RECIPE");
  if (!p.values.count("shards")) throw UsageError("slurm: missing --shards N");
  host::SlurmJob job;
  job.shards = p.values["shards"].as<int>();
  if (job.shards < 1) throw UsageError("slurm: --shards must be at least 1");
  job.sets = p.values.count("set") ? p.values["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
  const std::string recipe_path = p.values["recipe"].as<std::string>();
  const recipe::Recipe recipe = recipe::load(recipe_path, job.sets);

  // Everything a task would refuse, refused here, before anything is queued.
  const host::PluginHost plugins;
  const auto analyses = host::prepare_analyses(recipe, plugins);
  host::check_shardable(analyses);
  host::shard_inputs({0, job.shards}, recipe.inputs.size(), recipe.path);

  job.mechlens = fs::read_symlink("/proc/self/exe").string();
  job.recipe = fs::absolute(recipe_path).lexically_normal().string();
  job.archive = host::archive_path(recipe, p.values.count("out") ? p.values["out"].as<std::string>() : "");
  if (p.values.count("partition")) job.partition = p.values["partition"].as<std::string>();
  if (p.values.count("time")) job.time = p.values["time"].as<std::string>();
  if (p.values.count("gpus")) job.gpus = p.values["gpus"].as<int>();
  job.job_name = "mechlens-" + (recipe.experiment.name.empty() ? fs::path(job.archive).stem().string()
                                                               : recipe.experiment.name);
  const fs::path archive(job.archive);
  job.folder = p.values.count("scripts")
                   ? fs::absolute(p.values["scripts"].as<std::string>()).lexically_normal().string()
                   : (archive.parent_path() / (archive.stem().string() + "_slurm")).string();
  fs::create_directories(job.folder + "/logs");
  const std::string shards_script = job.folder + "/shards.sbatch", merge = job.folder + "/merge.sbatch";
  write_file(shards_script, host::shard_array_script(job));
  write_file(merge, host::merge_script(job));
  std::cout << "array job script: " << shards_script << " (" << job.shards << " tasks)\n";
  std::cout << "merge job script: " << merge << "\n";
  std::cout << "logs: " << job.folder << "/logs/\n";
  if (!p.values.count("submit")) {
    std::cout << "submit with:\n  id=$(sbatch --parsable " << host::shell_quote(shards_script)
              << ") && sbatch --dependency=afterok:$id " << host::shell_quote(merge) << "\n";
    return 0;
  }
  const std::string array_id = sbatch("", shards_script);
  std::cout << "array job: " << array_id << std::endl;
  const std::string merge_id = sbatch("--dependency=afterok:" + array_id + " --kill-on-invalid-dep=yes", merge);
  std::cout << "merge job: " << merge_id << std::endl;
  std::cout << "merged archive (when the merge job ends): " << job.archive << "\n";
  return 0;
}

}  // namespace mechlens::cli
