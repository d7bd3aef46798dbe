#include "host/slurm_scripts.hpp"

#include "host/shard.hpp"

namespace mechlens::host {

namespace {

std::string header(const SlurmJob& job, const std::string& name, const std::string& log) {
  std::string out = "#!/bin/bash\n#SBATCH --job-name=" + name + "\n#SBATCH --output=" + log +
                    "\n#SBATCH --open-mode=append\n";
  if (!job.partition.empty()) out += "#SBATCH --partition=" + job.partition + "\n";
  if (!job.time.empty()) out += "#SBATCH --time=" + job.time + "\n";
  return out;
}

}  // namespace

std::string shell_quote(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") ==
                           std::string::npos)
    return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::vector<std::string> shard_archives(const SlurmJob& job) {
  std::vector<std::string> out;
  for (int i = 0; i < job.shards; ++i) out.push_back(shard_archive_path(job.archive, {i, job.shards}));
  return out;
}

std::string shard_array_script(const SlurmJob& job) {
  std::string out = header(job, job.job_name, job.folder + "/logs/shard-%a.log");
  out += "#SBATCH --array=0-" + std::to_string(job.shards - 1) + "\n#SBATCH --requeue\n#SBATCH --ntasks=1\n";
  if (job.gpus > 0) out += "#SBATCH --gpus=" + std::to_string(job.gpus) + "\n";
  out += "# One shard of " + shell_quote(job.recipe) + " per array task. A requeued task runs the same\n"
         "# command: --resume continues the shard's .partial, starts it when there is none,\n"
         "# and stops at once when the shard's archive is already written.\n"
         "set -eu\n"
         "echo \"shard $SLURM_ARRAY_TASK_ID/" + std::to_string(job.shards) +
         " on $(hostname), job $SLURM_JOB_ID, restart ${SLURM_RESTART_COUNT:-0}\"\n";
  out += "exec " + shell_quote(job.mechlens) + " run " + shell_quote(job.recipe) + " --shard \"$SLURM_ARRAY_TASK_ID/" +
         std::to_string(job.shards) + "\" --resume --out " + shell_quote(job.archive);
  for (const std::string& s : job.sets) out += " --set " + shell_quote(s);
  return out + "\n";
}

std::string merge_script(const SlurmJob& job) {
  std::string out = header(job, job.job_name + "-merge", job.folder + "/logs/merge.log");
  out += "#SBATCH --ntasks=1\n"
         "# Runs after every shard of the array job succeeded (submitted with --dependency=afterok:<array job>).\n"
         "set -eu\n";
  out += "exec " + shell_quote(job.mechlens) + " merge " + shell_quote(job.archive);
  for (const std::string& a : shard_archives(job)) out += " \\\n  " + shell_quote(a);
  return out + "\n";
}

}  // namespace mechlens::host
