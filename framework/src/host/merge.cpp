#include "host/merge.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include "host/merge_tree.hpp"
#include "host/plugin_host.hpp"
#include "host/resume_check.hpp"
#include "host/shard.hpp"
#include "mechlens/error.hpp"
#include "store/archive.hpp"
#include "store/archive_format.hpp"
#include "store/archive_view.hpp"
#include "store/hdf5_handles.hpp"  // utc_now_iso8601

namespace fs = std::filesystem;

namespace mechlens::host {

namespace {

using merging::Node;
using merging::Part;

// Attributes of provenance/ that only a shard has.
const std::vector<std::string> kShardAttrs = {"shard", "shard_index", "shard_count", "shard_input_range",
                                              "recipe_inputs"};
// Run attributes the store writes itself, and the host's per-analysis ones the merge sets.
const std::vector<std::string> kStoreRunAttrs = {store::kStatus,         store::kStartedAt, store::kFinishedAt,
                                                 store::kResumedAt,      store::kMechlensVersion,
                                                 store::kDimsConvention, "command_line"};
const std::vector<std::string> kAnalysisTimeAttrs = {"status", "started_at", "finished_at", "seconds", "findings"};

struct ShardRun {
  std::string file;
  std::string label;  // "shard 2/4 (x.shard-2-of-4.h5)"
  std::unique_ptr<GroupView> run;
  int index = 0, count = 0;
  InputRange range;
  std::vector<std::string> recipe_inputs, inputs;
  std::string resolved_recipe;
  CheckpointFacts checkpoint;
};

std::int64_t int_attr(const GroupView& g, const std::string& name, const std::string& where) {
  const auto v = g.attr(name);
  if (!v || !std::holds_alternative<std::int64_t>(*v)) fail(where, "has no integer attribute '" + name + "'");
  return std::get<std::int64_t>(*v);
}

ShardRun open_shard(const std::string& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    if (fs::exists(file + store::kPartialSuffix, ec))
      fail(file, "does not exist yet: its shard has not finished (" + file + store::kPartialSuffix +
                     " is there: continue it with `mechlens run RECIPE --shard I/N --resume`)");
    fail(file, "no such shard archive");
  }
  ShardRun s;
  s.file = fs::absolute(file).lexically_normal().string();
  const std::unique_ptr<GroupView> root = store::open_archive_view(file);
  if (!root->has_group("runs")) fail(file, "is not a mechlens archive (no /runs)");
  const std::unique_ptr<GroupView> runs = root->group("runs");
  std::string chosen;
  for (const std::string& name : runs->groups()) {
    if (!store::run_number(name)) continue;
    if (runs->group(name)->text_attr(store::kStatus) != store::kStatusComplete) continue;
    if (chosen.empty() || *store::run_number(name) > *store::run_number(chosen)) chosen = name;
  }
  if (chosen.empty())
    fail(file, "has no finished run (the shard is still running or failed: continue it with --resume)");
  s.run = runs->group(chosen);
  const std::string where = file + ": " + s.run->path();
  if (!s.run->has_group("provenance")) fail(where, "has no provenance/ group");
  const std::unique_ptr<GroupView> p = s.run->group("provenance");
  if (!p->attr("shard_count"))
    fail(where, "is not a shard's run (its provenance has no shard attributes: it was not written by "
                "`mechlens run --shard I/N`)");
  s.index = static_cast<int>(int_attr(*p, "shard_index", where + "/provenance"));
  s.count = static_cast<int>(int_attr(*p, "shard_count", where + "/provenance"));
  s.label = "shard " + std::to_string(s.index) + "/" + std::to_string(s.count) + " (" + file + ")";
  const auto range = p->attr("shard_input_range");
  if (!range || !std::holds_alternative<std::vector<std::int64_t>>(*range) ||
      std::get<std::vector<std::int64_t>>(*range).size() != 2)
    fail(where + "/provenance", "has no shard_input_range [first, last)");
  s.range = {static_cast<std::size_t>(std::get<std::vector<std::int64_t>>(*range)[0]),
             static_cast<std::size_t>(std::get<std::vector<std::int64_t>>(*range)[1])};
  s.recipe_inputs = p->texts_attr("recipe_inputs");
  s.resolved_recipe = p->text_attr("resolved_recipe");
  if (s.run->has_group("model")) {
    const std::unique_ptr<GroupView> m = s.run->group("model");
    s.checkpoint = {m->text_attr("format"), m->text_attr("config_sha256"), m->text_attr("tensors_sha256")};
  }
  if (!s.run->has_group("inputs") || !s.run->group("inputs")->has_dataset("input"))
    fail(where, "has no inputs/input table");
  s.inputs = s.run->group("inputs")->strings("input");
  return s;
}

// "<stem>.shard-I-of-N.h5" beside a shard whose name follows that pattern.
std::string expected_name(const ShardRun& known, int index) {
  const fs::path p(known.file);
  const std::string name = p.filename().string();
  const std::size_t at = name.rfind(".shard-");
  if (at == std::string::npos) return "shard " + std::to_string(index);
  return (p.parent_path() / (name.substr(0, at) + ".shard-" + std::to_string(index) + "-of-" +
                             std::to_string(known.count) + p.extension().string()))
      .string();
}

// Every shard a finished shard of the same work, shards 0..N-1 once each. Returns them in shard order.
std::vector<ShardRun> check_shards(std::vector<ShardRun> shards) {
  if (shards.empty()) fail("mechlens merge", "no shard archives given");
  const ShardRun& first = shards[0];
  std::map<int, const ShardRun*> by_index;
  for (const ShardRun& s : shards) {
    if (s.count != first.count)
      fail(s.file, "is shard " + std::to_string(s.index) + " of " + std::to_string(s.count) + ", but " + first.file +
                       " is one of " + std::to_string(first.count) + ": the shards of one merge come from one split");
    auto [it, added] = by_index.emplace(s.index, &s);
    if (!added)
      fail(s.file, it->second->file == s.file
                       ? "is given twice"
                       : "is shard " + std::to_string(s.index) + "/" + std::to_string(s.count) + ", and so is " +
                             it->second->file + ": each shard is merged once");
    std::string why;
    if (s.recipe_inputs != first.recipe_inputs)
      why = "the recipe's inputs differ (" + std::to_string(s.recipe_inputs.size()) + " here, " +
            std::to_string(first.recipe_inputs.size()) + " in " + first.label + ")";
    if (why.empty())
      why = checkpoint_difference(first.checkpoint, s.checkpoint, "here", "in " + first.label);
    if (why.empty())
      why = resolved_recipe_difference(first.resolved_recipe, s.resolved_recipe, "here", "in " + first.label);
    if (!why.empty()) fail(s.label, "is not a shard of the same work: " + why);
  }
  std::string missing;
  for (int i = 0; i < first.count; ++i)
    if (!by_index.count(i))
      missing += (missing.empty() ? "" : ", ") + std::to_string(i) + "/" + std::to_string(first.count) + " (" +
                 expected_name(first, i) + ")";
  if (!missing.empty()) fail("mechlens merge", "shard(s) missing: " + missing + "; every shard 0.." +
                                                   std::to_string(first.count - 1) + " is needed");
  std::sort(shards.begin(), shards.end(), [](const ShardRun& a, const ShardRun& b) { return a.index < b.index; });
  for (const ShardRun& s : shards) {
    const InputRange r = shard_inputs({s.index, s.count}, s.recipe_inputs.size(), s.file);
    const std::vector<std::string> expected(s.recipe_inputs.begin() + static_cast<std::ptrdiff_t>(r.first),
                                            s.recipe_inputs.begin() + static_cast<std::ptrdiff_t>(r.last));
    if (s.range.first != r.first || s.range.last != r.last || s.inputs != expected)
      fail(s.label, "does not hold the inputs shard " + std::to_string(s.index) + "/" + std::to_string(s.count) +
                        " runs (recipe inputs " + std::to_string(r.first) + ".." + std::to_string(r.last) + ")");
  }
  return shards;
}

// The analysis' resolved parameters from its `param.<key>` attributes, typed by the plugin's declaration.
ParamValues params_of(const GroupView& group, const PluginInfo& info) {
  std::map<std::string, ParamValue> values;
  for (const ParamSpec& spec : info.params) {
    const auto v = group.attr("param." + spec.name);
    if (!v) continue;
    auto numbers = [&]() {
      std::vector<double> out;
      if (auto* d = std::get_if<std::vector<double>>(&*v)) out = *d;
      if (auto* i = std::get_if<std::vector<std::int64_t>>(&*v)) out.assign(i->begin(), i->end());
      return out;
    };
    switch (spec.type) {
      case ParamType::boolean:
        if (auto* i = std::get_if<std::int64_t>(&*v)) values[spec.name] = *i != 0;
        break;
      case ParamType::integer:
        if (auto* i = std::get_if<std::int64_t>(&*v)) values[spec.name] = *i;
        break;
      case ParamType::real:
        if (auto* d = std::get_if<double>(&*v)) values[spec.name] = *d;
        if (auto* i = std::get_if<std::int64_t>(&*v)) values[spec.name] = static_cast<double>(*i);
        break;
      case ParamType::string:
        if (auto* s = std::get_if<std::string>(&*v)) values[spec.name] = *s;
        break;
      case ParamType::integer_list: {
        const auto n = numbers();
        values[spec.name] = std::vector<std::int64_t>(n.begin(), n.end());
        break;
      }
      case ParamType::real_list: values[spec.name] = numbers(); break;
      case ParamType::string_list: {
        auto* s = std::get_if<std::vector<std::string>>(&*v);
        values[spec.name] = s ? *s : std::vector<std::string>{};
        break;
      }
    }
  }
  return ParamValues(std::move(values));
}

// Findings without a summarise function: lines every shard has once, the rest per shard.
std::vector<std::string> shard_findings(const std::vector<Part>& parts) {
  std::vector<std::vector<std::string>> lists;
  for (const Part& p : parts) {
    auto it = p.node->attrs.find("findings");
    const auto* list = it == p.node->attrs.end() ? nullptr : std::get_if<std::vector<std::string>>(&it->second);
    lists.push_back(list ? *list : std::vector<std::string>{});
  }
  std::vector<std::string> out;
  for (const std::string& line : lists[0])
    if (std::all_of(lists.begin(), lists.end(),
                    [&](const auto& l) { return std::find(l.begin(), l.end(), line) != l.end(); }))
      out.push_back(line);
  for (std::size_t s = 0; s < lists.size(); ++s)
    for (const std::string& line : lists[s])
      if (std::find(out.begin(), out.end(), line) == out.end()) out.push_back(parts[s].label + ": " + line);
  return out;
}

std::string string_attr_of(const Node& node, const std::string& name) {
  auto it = node.attrs.find(name);
  const auto* s = it == node.attrs.end() ? nullptr : std::get_if<std::string>(&it->second);
  return s ? *s : "";
}

struct MergedAnalysis {
  std::string name;
  MergeRules rules;
  std::vector<Part> parts;
};

// The analysis' group combined by its plugin's rules (into `into`), checked first.
MergedAnalysis combine_analysis(const std::string& name, const std::vector<Node>& nodes,
                                const std::vector<ShardRun>& shards, const PluginHost& plugins, Node& into) {
  MergedAnalysis m;
  m.name = name;
  for (std::size_t s = 0; s < nodes.size(); ++s)
    m.parts.push_back({&nodes[s], shards[s].label, static_cast<std::int64_t>(shards[s].inputs.size())});
  const std::string where = "analysis '" + name + "'";
  for (const Part& p : m.parts)
    if (string_attr_of(*p.node, "status") != "complete")
      fail(where, "is not complete in " + p.label + " (status '" + string_attr_of(*p.node, "status") + "')");
  const std::string plugin = string_attr_of(nodes[0], "plugin");
  const std::shared_ptr<const LoadedPlugin> loaded = plugins.find_shared(plugin);
  if (loaded->merge()) m.rules = loaded->merge()(params_of(*shards[0].run->group("analyses/" + name), loaded->info()));
  if (!m.rules.by_inputs) fail(where, "(" + plugin + ") cannot be merged from shards of inputs: " + m.rules.why_not);
  const auto recompute = [](const std::vector<MergeRule>& list) {
    return std::any_of(list.begin(), list.end(), [](const MergeRule& r) { return r.how == Combine::recompute; });
  };
  if (!m.rules.summarise && (recompute(m.rules.datasets) || recompute(m.rules.attributes)))
    fail(where, "(" + plugin + ") has merge rules `recompute` but no summarise function");
  into = merging::combine(m.parts, m.rules, where, kAnalysisTimeAttrs);
  return m;
}

// Writes the combined group, what the plugin recomputes, and the host's attributes.
void write_analysis(const MergedAnalysis& m, const Node& run_node, store::RunWriter& run, const std::string& file) {
  const Node& node = run_node.groups.at("analyses").groups.at(m.name);
  std::unique_ptr<ResultGroup> group = run.analysis(m.name);
  merging::write_tree(node, *group);
  std::vector<std::string> findings;
  if (m.rules.summarise) {
    const std::unique_ptr<GroupView> view = merging::view_of(
        run_node, file, std::string(store::kRunsGroup) + "/" + run.run_name(), {store::kAnalysesGroup, m.name});
    m.rules.summarise(*view, *group, findings);
  } else {
    findings = shard_findings(m.parts);
  }
  std::string started, finished;
  double seconds = 0.0;
  for (const Part& p : m.parts) {
    const std::string a = string_attr_of(*p.node, "started_at"), b = string_attr_of(*p.node, "finished_at");
    if (!a.empty() && (started.empty() || a < started)) started = a;
    if (b > finished) finished = b;
    auto it = p.node->attrs.find("seconds");
    if (it != p.node->attrs.end())
      if (auto* d = std::get_if<double>(&it->second)) seconds += *d;
  }
  group->set_attr("status", std::string("complete"));
  group->set_attr("started_at", started);
  group->set_attr("finished_at", finished);
  group->set_attr("seconds", seconds);  // summed over the shards: the compute the analysis cost
  group->set_attr("findings", findings);
}

// provenance/: shard 0's, without the shard attributes; timings summed over
// the shards; where each shard ran.
void merge_provenance(const std::vector<ShardRun>& shards, store::RunWriter& run, const std::string& command_line) {
  std::vector<std::unique_ptr<GroupView>> groups;
  for (const ShardRun& s : shards) groups.push_back(s.run->group("provenance"));
  std::unique_ptr<ResultGroup> out = run.group("provenance");
  for (const std::string& name : groups[0]->attr_names()) {
    if (std::find(kShardAttrs.begin(), kShardAttrs.end(), name) != kShardAttrs.end()) continue;
    std::optional<AttrValue> value = groups[0]->attr(name);
    if (!value) continue;
    if (name.rfind("time.", 0) == 0) {
      double sum = 0.0;
      for (const auto& g : groups) sum += g->number_attr(name).value_or(0.0);
      value = sum;
    }
    out->set_attr(name, *value);
  }
  std::vector<std::string> files, hosts;
  for (std::size_t s = 0; s < shards.size(); ++s) {
    files.push_back(shards[s].file);
    hosts.push_back(groups[s]->text_attr("hostname"));
  }
  out->set_attr("merged_from", files);
  out->set_attr("merged_hostnames", hosts);
  out->set_attr("merged_shards", static_cast<std::int64_t>(shards.size()));
  out->set_attr("merge_command_line", command_line);
}

}  // namespace

MergeResult merge_shards(const MergeOptions& options) {
  if (options.out.empty()) fail("mechlens merge", "no output archive");
  const std::string out = fs::absolute(options.out).lexically_normal().string();
  std::vector<ShardRun> opened;
  for (const std::string& file : options.shards) {
    if (fs::absolute(file).lexically_normal().string() == out)
      fail(file, "is both a shard and the merged archive; write the merge elsewhere");
    opened.push_back(open_shard(file));
  }
  const std::vector<ShardRun> shards = check_shards(std::move(opened));
  const PluginHost plugins(options.plugin_dirs.empty() ? PluginHost::search_path() : options.plugin_dirs);

  // Read everything before the merged archive is touched.
  auto read = [&](const std::string& path) {
    std::vector<Node> nodes;
    for (const ShardRun& s : shards) {
      if (!s.run->has_group(path)) fail(s.label, "has no " + path + "/ group");
      nodes.push_back(merging::read_tree(*s.run->group(path)));
    }
    return nodes;
  };
  auto parts_of = [&](const std::vector<Node>& nodes) {
    std::vector<Part> parts;
    for (std::size_t s = 0; s < nodes.size(); ++s)
      parts.push_back({&nodes[s], shards[s].label, static_cast<std::int64_t>(shards[s].inputs.size())});
    return parts;
  };
  // The merged run in memory, checked and combined before the archive is touched.
  const std::vector<Node> model = read("model"), inputs = read("inputs");
  Node run_node;
  run_node.groups["model"] = merging::combine(parts_of(model), {}, "model/");
  run_node.groups["inputs"] = merging::combine(parts_of(inputs), {}, "inputs/");
  const std::vector<std::string> analyses = shards[0].run->texts_attr("analyses");
  std::vector<std::vector<Node>> analysis_nodes;  // the parts point into these
  for (const std::string& name : analyses) analysis_nodes.push_back(read("analyses/" + name));
  std::vector<MergedAnalysis> merged;
  for (std::size_t a = 0; a < analyses.size(); ++a)
    merged.push_back(combine_analysis(analyses[a], analysis_nodes[a], shards, plugins,
                                      run_node.groups[store::kAnalysesGroup].groups[analyses[a]]));

  const std::string partial = out + store::kPartialSuffix;
  std::unique_ptr<store::RunWriter> run = store::open_run(out, false);
  try {
    for (const std::string& name : shards[0].run->attr_names()) {
      if (std::find(kStoreRunAttrs.begin(), kStoreRunAttrs.end(), name) != kStoreRunAttrs.end()) continue;
      if (auto v = shards[0].run->attr(name)) run->set_attr(name, *v);
    }
    run->set_attr("command_line", options.command_line);
    merge_provenance(shards, *run, options.command_line);
    merging::write_tree(run_node.groups.at("model"), *run->group("model"));
    merging::write_tree(run_node.groups.at("inputs"), *run->group("inputs"));
    for (const MergedAnalysis& m : merged) write_analysis(m, run_node, *run, partial);
    MergeResult result;
    result.run_name = run->run_name();
    result.archive = run->finish();
    result.shards = static_cast<int>(shards.size());
    result.inputs = shards[0].recipe_inputs.size();
    return result;
  } catch (...) {
    run.reset();
    std::error_code ec;
    fs::remove(partial, ec);  // ours, half written: the archive itself is untouched
    throw;
  }
}

}  // namespace mechlens::host
