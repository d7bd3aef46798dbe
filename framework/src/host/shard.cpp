#include "host/shard.hpp"

#include <filesystem>

#include "mechlens/error.hpp"

namespace mechlens::host {

namespace {

bool parse_int(const std::string& text, int& out) {
  if (text.empty() || text.size() > 6) return false;
  out = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

}  // namespace

Shard parse_shard(const std::string& text) {
  const std::size_t slash = text.find('/');
  Shard shard;
  if (slash == std::string::npos || !parse_int(text.substr(0, slash), shard.index) ||
      !parse_int(text.substr(slash + 1), shard.count))
    fail("--shard " + text, "expected I/N, e.g. 0/4 (shard I of N, I counted from 0)");
  if (shard.count < 1 || shard.index >= shard.count)
    fail("--shard " + text, "needs 0 <= I < N (shards are numbered 0 to N-1)");
  return shard;
}

std::string to_string(const Shard& shard) {
  return std::to_string(shard.index) + "/" + std::to_string(shard.count);
}

InputRange shard_inputs(const Shard& shard, std::size_t n_inputs, const std::string& recipe_path) {
  const auto n = static_cast<std::size_t>(shard.count);
  if (n > n_inputs)
    fail(recipe_path, "has " + std::to_string(n_inputs) + " inputs: it cannot be split into " + std::to_string(n) +
                          " shards (each shard needs at least one input)");
  const auto i = static_cast<std::size_t>(shard.index);
  const std::size_t base = n_inputs / n, extra = n_inputs % n;  // the first `extra` shards get one more
  InputRange range;
  range.first = i * base + std::min(i, extra);
  range.last = range.first + base + (i < extra ? 1 : 0);
  return range;
}

std::string shard_archive_path(const std::string& merged_archive, const Shard& shard) {
  const std::filesystem::path p(merged_archive);
  const std::string ext = p.has_extension() ? p.extension().string() : ".h5";
  return (p.parent_path() / (p.stem().string() + ".shard-" + std::to_string(shard.index) + "-of-" +
                             std::to_string(shard.count) + ext))
      .string();
}

void check_shardable(const std::vector<PreparedAnalysis>& analyses) {
  std::string problems;
  for (const PreparedAnalysis& a : analyses) {
    const MergeFunction merge = a.plugin->merge();
    if (!merge) continue;
    const MergeRules rules = merge(a.params);
    if (rules.by_inputs) continue;
    problems += (problems.empty() ? "" : "; ") + std::string("analysis '") + a.entry->name + "' (" + a.plugin->name() +
                ") cannot be split by inputs: " + rules.why_not;
  }
  if (!problems.empty()) fail("--shard", problems + ". Run it without --shard, or in a recipe of its own");
}

void write_shard_provenance(store::RunWriter& run, const Shard& shard, const InputRange& range,
                            const std::vector<InputSpec>& recipe_inputs) {
  auto p = run.group("provenance");
  std::vector<std::string> ids;
  for (const InputSpec& input : recipe_inputs) ids.push_back(input.id);
  p->set_attr("shard", to_string(shard));
  p->set_attr("shard_index", std::int64_t{shard.index});
  p->set_attr("shard_count", std::int64_t{shard.count});
  p->set_attr("shard_input_range",
              std::vector<std::int64_t>{static_cast<std::int64_t>(range.first), static_cast<std::int64_t>(range.last)});
  p->set_attr("recipe_inputs", ids);
}

}  // namespace mechlens::host
