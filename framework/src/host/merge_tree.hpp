#pragma once
// `mechlens merge`'s working copy: one group of every shard read into memory
// (datasets as stored: element type, shape, dims, values), combined by a
// plugin's MergeRules (mechlens/merge.hpp) into one tree, which is then
// written through the store like any run (so dims, scales, chunking and
// checksums are what the store writes for an unsharded run).
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mechlens/archive_view.hpp"
#include "mechlens/merge.hpp"
#include "mechlens/store.hpp"

namespace mechlens::host::merging {

struct Array {
  std::string dtype;  // "float32", "float64", "int64", "int32", "uint8", "string"
  std::vector<std::int64_t> shape;
  std::vector<std::string> dims;
  std::vector<double> numbers;       // numeric datasets (integers are exact below 2^53)
  std::vector<std::string> strings;  // string datasets
  bool is_string() const { return dtype == "string"; }
};

struct Node {
  std::map<std::string, Array> datasets;
  std::map<std::string, AttrValue> attrs;
  std::map<std::string, Node> groups;
};

// Reads a group and everything below it (datasets GroupView lists: the
// store's `_units_done` and netCDF's dimension-only scales are left out).
Node read_tree(const GroupView& group);

// One shard's copy of a group, with its label for messages ("shard 2/4 (x.shard-2-of-4.h5)").
struct Part {
  const Node* node = nullptr;
  std::string label;
  std::int64_t n_inputs = 0;  // the shard's inputs (the default weight of a mean)
};

// Combines the parts (in input order) by `rules`; `where` names the group for
// messages. Attributes in `skip_attrs` are left to the caller. Throws naming
// the dataset or attribute and the shards that disagree.
Node combine(const std::vector<Part>& parts, const MergeRules& rules, const std::string& where,
             const std::vector<std::string>& skip_attrs = {});

// Writes datasets, attributes and sub-groups of `node` into `out`.
void write_tree(const Node& node, ResultGroup& out);

// A read-only GroupView of the group `below` (path components) of an
// in-memory run `root` whose archive path is `root_path` ("/runs/run_0001"):
// what MergeRules::summarise reads. Like an archive's view, it reaches the
// rest of the run with ".." ("../../inputs") or absolute paths below root_path.
std::unique_ptr<GroupView> view_of(const Node& root, const std::string& file, const std::string& root_path,
                                   const std::vector<std::string>& below);

}  // namespace mechlens::host::merging
