#pragma once
// How an analysis' results combine across shards. `mechlens run --shard I/N`
// runs a recipe on the I-th of N contiguous blocks of its inputs, one archive
// per shard; `mechlens merge OUT SHARD...` joins the shards' runs into one
// run that equals the unsharded run dataset by dataset. A plugin says how
// its datasets and attributes combine by a public static
//
//   static mechlens::MergeRules merge_rules(const mechlens::ParamValues& params);
//
// which MECHLENS_PLUGIN finds by itself (plugin ABI 4). Without one, or for
// anything it does not name, the defaults hold:
//   * a dataset with a dim `input` is concatenated along it in input order
//     (other axes padded to the longest shard, see MergeRule::pad);
//   * any other dataset, and every attribute, must be the same in every shard
//     (coordinates, settings); a difference is an error naming the dataset;
//   * a sub-group that only one shard has (one per input, e.g. grids/<id>)
//     is copied; a sub-group several shards have is merged by these rules;
//   * the findings are the shards' findings, each prefixed with its shard.
#include <optional>
#include <string>
#include <vector>

#include "mechlens/params.hpp"

namespace mechlens {

class GroupView;    // archive_view.hpp
class ResultGroup;  // store.hpp

enum class Combine {
  concatenate,  // along its `input` axis (else its first); other axes padded to the longest shard with `pad`
  same,         // identical in every shard: kept once
  sum,          // element-wise sum (counts, totals)
  mean,         // element-wise mean weighted by `weight` (an aggregate over inputs)
  max,          // element-wise maximum
  min,          // element-wise minimum
  recompute,    // left out by the merge; `summarise` writes it from the merged data
};

struct MergeRule {
  std::string name;  // a dataset or attribute of the analysis group (datasets: "sub/group/name" below it)
  Combine how = Combine::same;
  // mean: a 1-D dataset over `input` whose sum in a shard is that shard's
  // weight (e.g. "analysed", 0/1 per input); empty: the shard's number of inputs.
  std::string weight{};
  // concatenate: the value of padded elements; nullopt: NaN for floats, -1
  // for signed integers, 0 for uint8 ("" for strings, always).
  std::optional<double> pad{};
};

// Reads the merged analysis group (every dataset and attribute combined by
// the rules, `recompute` ones absent) and writes what the rules left to it
// into `out`, the merged group, with the findings of the whole run.
using SummariseFunction = void (*)(const GroupView& merged, ResultGroup& out, std::vector<std::string>& findings);

struct MergeRules {
  // false: one input's results depend on the other inputs (a joint embedding
  // of every token, a mean over all inputs): `mechlens run --shard` refuses
  // the recipe and says `why_not`.
  bool by_inputs = true;
  std::string why_not{};
  std::vector<MergeRule> datasets{};
  std::vector<MergeRule> attributes{};
  SummariseFunction summarise = nullptr;  // null: findings from the shards, no `recompute` rules allowed
};

// What a plugin exports (PluginFactory::merge): its rules for these parameters.
using MergeFunction = MergeRules (*)(const ParamValues& params);

}  // namespace mechlens
