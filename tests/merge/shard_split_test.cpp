// `--shard I/N`: the split of a recipe's inputs, the shard archive names, and
// the sbatch scripts of `mechlens slurm`.
#include <gtest/gtest.h>

#include <functional>

#include "host/shard.hpp"
#include "host/slurm_scripts.hpp"
#include "mechlens/error.hpp"

namespace {

using namespace mechlens::host;

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ShardSplit, ParsesIOfN) {
  const Shard s = parse_shard("2/5");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 5);
  EXPECT_EQ(to_string(s), "2/5");
  for (const char* bad : {"5/5", "-1/3", "1", "a/b", "1/0", "/3", "2/", "1/2/3"})
    EXPECT_NE(message_of([&] { parse_shard(bad); }).find(std::string("--shard ") + bad), std::string::npos) << bad;
}

TEST(ShardSplit, BlocksAreContiguousCoverEveryInputOnceAndDifferByAtMostOne) {
  for (std::size_t n = 1; n <= 13; ++n)
    for (int count = 1; count <= static_cast<int>(n); ++count) {
      std::size_t next = 0, smallest = n, largest = 0;
      for (int i = 0; i < count; ++i) {
        const InputRange r = shard_inputs({i, count}, n, "r.toml");
        EXPECT_EQ(r.first, next) << n << " inputs, shard " << i << "/" << count;
        EXPECT_GT(r.last, r.first);
        smallest = std::min(smallest, r.last - r.first);
        largest = std::max(largest, r.last - r.first);
        next = r.last;
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(largest - smallest, 1u);
    }
  EXPECT_EQ(shard_inputs({1, 4}, 10, "r.toml").first, 3u);  // 3, 3, 2, 2
  EXPECT_EQ(shard_inputs({3, 4}, 10, "r.toml").first, 8u);
}

TEST(ShardSplit, MoreShardsThanInputsIsAnErrorNamingTheRecipe) {
  const std::string m = message_of([] { shard_inputs({0, 5}, 4, "recipe.toml"); });
  EXPECT_NE(m.find("recipe.toml"), std::string::npos) << m;
  EXPECT_NE(m.find("4 inputs"), std::string::npos) << m;
  EXPECT_NE(m.find("5 shards"), std::string::npos) << m;
}

TEST(ShardSplit, ShardArchivesLieBesideTheMergedOne) {
  EXPECT_EQ(shard_archive_path("/data/out.h5", {2, 4}), "/data/out.shard-2-of-4.h5");
  EXPECT_EQ(shard_archive_path("/data/out", {0, 1}), "/data/out.shard-0-of-1.h5");
}

TEST(SlurmScripts, ArrayJobRunsOneRequeueableShardPerTaskWithResume) {
  SlurmJob job;
  job.mechlens = "/opt/mechlens/bin/mechlens";
  job.recipe = "/r/sweep recipe.toml";
  job.archive = "/data/sweep.h5";
  job.sets = {"model.dtype=bfloat16"};
  job.shards = 4;
  job.partition = "gpu";
  job.time = "2:00:00";
  job.gpus = 1;
  job.job_name = "mechlens-sweep";
  job.folder = "/data/sweep_slurm";
  const std::string s = shard_array_script(job);
  for (const char* line : {"#!/bin/bash\n", "#SBATCH --array=0-3\n", "#SBATCH --requeue\n", "#SBATCH --partition=gpu\n",
                           "#SBATCH --time=2:00:00\n", "#SBATCH --gpus=1\n", "#SBATCH --job-name=mechlens-sweep\n",
                           "#SBATCH --output=/data/sweep_slurm/logs/shard-%a.log\n", "#SBATCH --open-mode=append\n"})
    EXPECT_NE(s.find(line), std::string::npos) << line << " in\n" << s;
  EXPECT_NE(s.find("exec /opt/mechlens/bin/mechlens run '/r/sweep recipe.toml' --shard \"$SLURM_ARRAY_TASK_ID/4\" "
                   "--resume --out /data/sweep.h5 --set model.dtype=bfloat16\n"),
            std::string::npos)
      << s;
  const std::string m = merge_script(job);
  EXPECT_NE(m.find("#SBATCH --job-name=mechlens-sweep-merge\n"), std::string::npos) << m;
  EXPECT_NE(m.find("#SBATCH --output=/data/sweep_slurm/logs/merge.log\n"), std::string::npos) << m;
  EXPECT_EQ(m.find("--array"), std::string::npos) << m;
  EXPECT_NE(m.find("exec /opt/mechlens/bin/mechlens merge /data/sweep.h5"), std::string::npos) << m;
  for (int i = 0; i < 4; ++i)
    EXPECT_NE(m.find("/data/sweep.shard-" + std::to_string(i) + "-of-4.h5"), std::string::npos) << m;
}

TEST(SlurmScripts, NoPartitionTimeOrGpusMeansTheClusterDefaults) {
  SlurmJob job;
  job.mechlens = "/m";
  job.recipe = "/r.toml";
  job.archive = "/o.h5";
  job.shards = 1;
  job.job_name = "x";
  job.folder = "/f";
  const std::string s = shard_array_script(job);
  EXPECT_NE(s.find("#SBATCH --array=0-0\n"), std::string::npos) << s;
  for (const char* absent : {"--partition", "--time", "--gpus"}) EXPECT_EQ(s.find(absent), std::string::npos) << s;
}

TEST(SlurmScripts, ShellQuoting) {
  EXPECT_EQ(shell_quote("plain/path-1.h5"), "plain/path-1.h5");
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
}

}  // namespace
