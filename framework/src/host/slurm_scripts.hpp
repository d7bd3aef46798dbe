#pragma once
// `mechlens slurm`: a recipe as a Slurm array job (one task per shard,
// requeueable, each task `mechlens run --shard $SLURM_ARRAY_TASK_ID/N
// --resume`, so a requeued task continues its `.partial`) and a merge job
// that runs after every task succeeded (`--dependency=afterok:<array job>`).
// mechlens does not schedule: it writes the two sbatch scripts and, when
// asked, hands them to sbatch.
#include <string>
#include <vector>

namespace mechlens::host {

struct SlurmJob {
  std::string mechlens;  // absolute path of the mechlens executable
  std::string recipe;    // absolute recipe path
  std::string archive;   // absolute merged archive path (shards beside it)
  std::vector<std::string> sets;  // --set overrides, passed on to every task
  int shards = 1;
  std::string partition, time;  // empty: the cluster's default
  int gpus = 0;                 // per task; 0: none asked for
  std::string job_name;         // "mechlens-<experiment name>"
  std::string folder;           // where the scripts and logs/ go
};

// The array job's script: --array=0-(N-1), --requeue, logs/shard-<I>.log per
// task (appended across requeues).
std::string shard_array_script(const SlurmJob& job);
// The merge job's script (its dependency is given to sbatch at submission).
std::string merge_script(const SlurmJob& job);
// Shard archive paths, in shard order.
std::vector<std::string> shard_archives(const SlurmJob& job);
// POSIX shell single-quoting.
std::string shell_quote(const std::string& word);

}  // namespace mechlens::host
