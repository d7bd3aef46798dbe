#pragma once
// `mechlens merge OUT SHARD...`: the runs of `mechlens run --shard I/N`
// joined into one run of OUT that equals the unsharded run dataset by dataset.
//
// Before anything is written, every shard is checked to be a finished shard
// of the same work: the same resolved recipe, the same recipe inputs and the
// same checkpoint identity (the facts `--resume` compares), and together the
// shards 0..N-1 once each. Then `inputs/` and every analysis group are
// combined by the plugin's MergeRules (mechlens/merge.hpp): per-input
// datasets concatenated in input order, aggregates summed, averaged with
// counts or recomputed by the plugin. OUT gets one new run, written as
// `mechlens run` writes one (a `.partial` renamed into place).
#include <string>
#include <vector>

namespace mechlens::host {

struct MergeOptions {
  std::string out;                  // the merged archive (a new run is added to it)
  std::vector<std::string> shards;  // shard archives, any order
  std::string command_line;         // recorded in the merged run
  std::vector<std::string> plugin_dirs;  // empty = PluginHost::search_path()
};

struct MergeResult {
  std::string archive;
  std::string run_name;
  int shards = 0;
  std::size_t inputs = 0;
};

MergeResult merge_shards(const MergeOptions& options);

}  // namespace mechlens::host
