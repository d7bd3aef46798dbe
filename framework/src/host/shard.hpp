#pragma once
// `mechlens run --shard I/N`: the recipe's inputs cut into N contiguous
// blocks (sizes differ by at most one, the larger first), shard I runs block
// I into its own archive `<stem>.shard-I-of-N.h5` beside the recipe's output.
// Contiguous blocks in shard order are the inputs in recipe order, so
// `mechlens merge` joins shards by concatenating along `input`.
#include <cstddef>
#include <string>
#include <vector>

#include "host/prepare.hpp"
#include "mechlens/input.hpp"
#include "store/archive.hpp"

namespace mechlens::host {

struct Shard {
  int index = 0;  // I, 0-based
  int count = 1;  // N
};

// "I/N" with 0 <= I < N; errors quote the text.
Shard parse_shard(const std::string& text);
// "I/N"
std::string to_string(const Shard& shard);

// Inputs [first, last) of `n_inputs` that the shard runs. Throws when N exceeds
// the number of inputs (a shard with nothing to run).
struct InputRange {
  std::size_t first = 0;
  std::size_t last = 0;
};
InputRange shard_inputs(const Shard& shard, std::size_t n_inputs, const std::string& recipe_path);

// "<dir>/<stem>.shard-I-of-N.h5" for the merged archive `<dir>/<stem>.h5`.
std::string shard_archive_path(const std::string& merged_archive, const Shard& shard);

// Throws naming every analysis whose plugin says its results cannot be split
// by inputs (MergeRules::by_inputs = false), and why.
void check_shardable(const std::vector<PreparedAnalysis>& analyses);

// provenance/ attributes of a shard's run: `shard` ("I/N"), `shard_index`,
// `shard_count`, `shard_input_range` ([first, last) of the recipe's inputs),
// `recipe_inputs` (every input id of the recipe, in order).
void write_shard_provenance(store::RunWriter& run, const Shard& shard, const InputRange& range,
                            const std::vector<InputSpec>& recipe_inputs);

}  // namespace mechlens::host
