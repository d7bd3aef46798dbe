// ablation_compare (seed 000's open question): does the sensitivity matrix
// tell the same story when a head is disabled differently? For the same
// inputs, the matrix under `zero` (output set to 0, the seed's choice),
// `identity` (the head attends only to its own position), `mean` (its output
// replaced by its mean over the input's positions) and `dataset_mean` (its
// mean over every position of every input of the recipe: the reference-set
// mean ablation of the literature); then, per input, the rank agreement
// between kinds (Spearman, Kendall tau-b on |metric|), the heads whose rank
// moves most, and the share of heads below a threshold under every kind
// (the seed's "about 10% could go").
//
// The sweep is sensitivity_matrix's: per input one clean run keeps the
// residual entering each layer, and each layer's heads are ablated in one
// batched forward resumed from there (ablate_each_head); dataset_mean uses
// the same fan-out through a hook_z write hook (dataset_mean.hpp).
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "comparison.hpp"
#include "dataset_mean.hpp"
#include "head_metrics.hpp"
#include "mechlens/archive_view.hpp"
#include "mechlens/interventions.hpp"
#include "mechlens/layer_selection.hpp"
#include "mechlens/merge.hpp"
#include "mechlens/plugin.hpp"
#include "mechlens/report_page.hpp"
#include "mechlens/run_context.hpp"
#include "mechlens/tensor_store.hpp"

namespace {

using namespace mechlens;
using ablation_compare::Comparison;
using ablation_compare::Statistics;

const std::vector<std::string>& kind_names() {
  static const std::vector<std::string> names = {"zero", "identity", "mean", "dataset_mean"};
  return names;
}

std::string fixed(double v, int digits = 3) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

std::string head_name(std::size_t cell, int n_heads) {
  return "L" + std::to_string(cell / n_heads) + "H" + std::to_string(cell % n_heads);
}

class AblationCompare : public Analysis {
 public:
  static PluginInfo describe() {
    return {"ablation_compare", "1.0.0",
            "Sensitivity matrices under zero, identity, input-mean and dataset-mean head ablation, and how far "
            "their head rankings agree",
            {
                param::string_list("kinds", kind_names(),
                                   "Ablation kinds to compare: zero (output 0), identity (attends only to its own "
                                   "position), mean (output = its mean over the input's positions), dataset_mean "
                                   "(its mean over every position of every input of the recipe)")
                    .choices(kind_names()),
                param::string("metric", "top1_prob_change",
                              "The sensitivity metric compared (as sensitivity_matrix); heads are ranked by |metric|")
                    .choices(sensitivity::metric_names()),
                param::real("threshold", 0.01,
                            "A head is negligible under a kind when |metric| < threshold")
                    .at_least(0.0),
                param::integer("movers", 5, "How many heads whose rank moves most are named per input").at_least(1),
                param::integer_list("layers", {}, "Layers to sweep (empty = all; others stay NaN)"),
            }};
  }

  void run(RunContext& ctx) override {
    const Geometry g = ctx.model.geometry();
    Comparison c;
    c.metric = ctx.params.get<std::string>("metric");
    c.kinds = ctx.params.get<std::vector<std::string>>("kinds");
    if (c.kinds.size() < 2) fail("ablation_compare.kinds", "needs at least two kinds to compare");
    for (std::size_t k = 0; k < c.kinds.size(); ++k)
      if (std::count(c.kinds.begin(), c.kinds.end(), c.kinds[k]) > 1)
        fail("ablation_compare.kinds", "'" + c.kinds[k] + "' listed twice");
    c.threshold = ctx.params.get<double>("threshold");
    c.n_layers = g.n_layers;
    c.n_heads = g.n_heads;
    for (const auto& input : ctx.inputs) c.inputs.push_back(input.spec.id);
    const std::vector<int> layers = chosen_layers(ctx.params, g.n_layers, "ablation_compare.layers");
    const auto K = static_cast<std::int64_t>(c.kinds.size()), N = static_cast<std::int64_t>(c.inputs.size());
    const auto C = static_cast<std::int64_t>(c.cells());

    c.values = restore(ctx, "sensitivity", K * N * C);
    write_tensor(ctx.results, "layer", at::arange(g.n_layers, at::kLong), {"layer"});
    write_tensor(ctx.results, "head", at::arange(g.n_heads, at::kLong), {"head"});
    ctx.results.write_strings("kind", c.kinds, "kind");

    // The dataset mean of every head's output, over all inputs (cheap: one
    // forward per input), needed before any input's dataset_mean sweep.
    at::Tensor means;
    if (std::count(c.kinds.begin(), c.kinds.end(), "dataset_mean")) {
      // Over every input of the recipe, also when this run is one shard of
      // it (recipe_inputs), so that every shard replaces with the same mean.
      std::vector<const EncodedInput*> all;
      for (const auto& input : ctx.recipe_inputs ? *ctx.recipe_inputs : ctx.inputs) all.push_back(&input);
      means = ablation_compare::dataset_mean_z(ctx.model, all);
    }

    std::vector<std::int64_t> top_token(N, -1);
    std::vector<double> top_prob(N, std::nan(""));
    std::vector<std::string> top_string(N);
    for (std::int64_t i = 0; i < N; ++i) {
      const EncodedInput& input = ctx.inputs[i];
      const Batch single = ctx.model.make_batch({&input});
      const at::Tensor answer = at::tensor({input.answer_position}, at::kLong);
      const CleanRun clean = capture_resid_pre(ctx.model, single, answer);
      const sensitivity::Baseline base = sensitivity::make_baseline(clean.logits[0][0]);
      top_token[i] = base.top_token;
      top_prob[i] = base.top_prob;
      top_string[i] = ctx.model.token_string(base.top_token);
      const std::string unit = "input_" + std::to_string(i);
      if (ctx.results.unit_done(unit)) continue;
      std::int64_t step = 0;
      for (std::int64_t k = 0; k < K; ++k)
        for (int layer : layers) {
          ctx.progress.update(input.spec.id, step++, K * static_cast<std::int64_t>(layers.size()));
          const std::string& kind = c.kinds[k];
          const at::Tensor logits =
              kind == "dataset_mean"
                  ? ablation_compare::ablate_each_head_to_mean(ctx.model, single, clean.resid_pre[layer], layer,
                                                               means, answer)
                  : ablate_each_head(ctx.model, single, clean.resid_pre[layer], layer, parse_head_ablation(kind),
                                     answer);
          const at::Tensor per_head = sensitivity::metric(c.metric, base, logits.select(1, 0)).contiguous();
          const double* src = per_head.data_ptr<double>();
          std::copy(src, src + g.n_heads, c.values.begin() + (k * N + i) * C + layer * g.n_heads);
        }
      ctx.results.write("sensitivity", {ElementType::f64, {K, N, g.n_layers, g.n_heads}, c.values.data()},
                        {"kind", "input", "layer", "head"});
      ctx.results.mark_unit_done(unit);
    }

    write_tensor(ctx.results, "baseline_token", at::tensor(top_token, at::kLong), {"input"});
    write_tensor(ctx.results, "baseline_prob", at::tensor(top_prob, at::kDouble), {"input"});
    ctx.results.write_strings("baseline_token_str", top_string, "input");
    ctx.results.set_attr("metric", c.metric);
    ctx.results.set_attr("threshold", c.threshold);
    if (layers.size() != static_cast<std::size_t>(g.n_layers)) {
      ctx.log.warn("ablation_compare: only some layers swept; the statistics need every head and are skipped");
      ablation_compare::draw(ctx.figures, c);
      return;
    }
    const Statistics s = ablation_compare::compute_statistics(c);
    write_statistics(ctx.results, c, s);
    findings(ctx.results, ctx.findings, c, s, ctx.params.get<std::int64_t>("movers"));
    ablation_compare::draw(ctx.figures, c);
  }

  // Report section: the tables of agreement, then the same pictures as the run's files.
  static void report(const GroupView& group, ReportPage& page);

  // Shards (mechlens merge): the [.., input, ..] datasets concatenate (the
  // default; the dataset mean is taken over every recipe input in every
  // shard, so the shards' matrices are those of one run); the statistics
  // over all inputs and the findings are computed again from the merged matrices.
  static MergeRules merge_rules(const ParamValues&) {
    MergeRules rules;
    for (const char* name : {"spearman_mean", "kendall_mean", "negligible_everywhere", "top_layer", "top_head"})
      rules.datasets.push_back({name, Combine::recompute});
    rules.attributes = {{"top_same_under_every_kind", Combine::recompute}};
    rules.summarise = &summarise_merged;
    return rules;
  }

 private:
  static Comparison from_archive(const GroupView& group);

  static void summarise_merged(const GroupView& merged, ResultGroup& out, std::vector<std::string>& lines) {
    const Comparison c = from_archive(merged);
    for (double v : c.values)
      if (std::isnan(v)) return;  // some layers only: no statistics (as a run)
    const Statistics s = ablation_compare::compute_statistics(c);
    write_overall(out, c, s);
    const auto movers = merged.number_attr("param.movers");
    findings(out, lines, c, s, movers ? static_cast<std::int64_t>(*movers) : 5);
  }

  static std::vector<double> restore(const RunContext& ctx, const std::string& name, std::int64_t size) {
    if (ctx.results.has(name)) {
      std::vector<double> old = ctx.results.read_f64(name);
      if (static_cast<std::int64_t>(old.size()) == size) return old;
    }
    return std::vector<double>(size, std::nan(""));
  }

  static void write_statistics(ResultGroup& results, const Comparison& c, const Statistics& s) {
    const auto K = static_cast<std::int64_t>(c.kinds.size()), N = static_cast<std::int64_t>(c.inputs.size());
    const auto pairs = ablation_compare::kind_pairs(c.kinds.size());
    const auto P = static_cast<std::int64_t>(pairs.size());
    std::vector<std::string> labels;
    for (const auto& [a, b] : pairs) labels.push_back(ablation_compare::pair_label(c, a, b));
    results.write_strings("pair", labels, "pair");
    results.write("spearman", {ElementType::f64, {N, P}, s.spearman.data()}, {"input", "pair"});
    results.write("kendall", {ElementType::f64, {N, P}, s.kendall.data()}, {"input", "pair"});
    results.write("rank", {ElementType::f64, {K, N, c.n_layers, c.n_heads}, s.ranks.data()},
                  {"kind", "input", "layer", "head"});
    results.write("rank_shift", {ElementType::f64, {N, c.n_layers, c.n_heads}, s.rank_shift.data()},
                  {"input", "layer", "head"});
    results.write("negligible_share", {ElementType::f64, {K, N}, s.negligible_share.data()}, {"kind", "input"});
    results.write("negligible_share_all_kinds", {ElementType::f64, {N}, s.negligible_share_all_kinds.data()},
                  {"input"});
    write_overall(results, c, s);
  }

  // The statistics over every input (what a merge of shards computes again).
  static void write_overall(ResultGroup& results, const Comparison& c, const Statistics& s) {
    const auto P = static_cast<std::int64_t>(s.spearman_mean.size());
    results.write("spearman_mean", {ElementType::f64, {P}, s.spearman_mean.data()}, {"pair"});
    results.write("kendall_mean", {ElementType::f64, {P}, s.kendall_mean.data()}, {"pair"});
    write_tensor(results, "negligible_everywhere",
                 at::tensor(s.negligible_everywhere, at::kLong).view({c.n_layers, c.n_heads}), {"layer", "head"});
    write_tensor(results, "top_layer", at::tensor(s.top_layer, at::kLong), {"kind"});
    write_tensor(results, "top_head", at::tensor(s.top_head, at::kLong), {"kind"});
  }

  static void findings(ResultGroup& results, std::vector<std::string>& lines, const Comparison& c,
                       const Statistics& s, std::int64_t movers) {
    const auto pairs = ablation_compare::kind_pairs(c.kinds.size());
    std::ostringstream agreement;
    agreement << "rank agreement of |" << c.metric << "| (mean over inputs; Spearman / Kendall):";
    for (std::size_t p = 0; p < pairs.size(); ++p)
      agreement << (p ? "," : "") << " " << ablation_compare::pair_label(c, pairs[p].first, pairs[p].second) << " "
                << fixed(s.spearman_mean[p], 2) << " / " << fixed(s.kendall_mean[p], 2);
    lines.push_back(agreement.str());

    std::ostringstream top;
    top << "most important head (mean |" << c.metric << "|) per kind:";
    bool same = true;
    for (std::size_t k = 0; k < c.kinds.size(); ++k) {
      top << (k ? "," : "") << " " << c.kinds[k] << " L" << s.top_layer[k] << "H" << s.top_head[k];
      same = same && s.top_layer[k] == s.top_layer[0] && s.top_head[k] == s.top_head[0];
    }
    top << (same ? " (the same head under every kind)" : " (kinds disagree)");
    lines.push_back(top.str());

    const auto everywhere = std::count(s.negligible_everywhere.begin(), s.negligible_everywhere.end(), 1);
    lines.push_back("heads with |" + c.metric + "| < " + fixed(c.threshold, 4) + " under every kind on every input: " +
                           std::to_string(everywhere) + " of " + std::to_string(c.cells()) + " (" +
                           fixed(100.0 * static_cast<double>(everywhere) / static_cast<double>(c.cells()), 1) + "%)");

    // The largest rank moves, over all inputs.
    const std::size_t C = c.cells(), N = c.inputs.size();
    std::vector<std::size_t> order(N * C);
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return s.rank_shift[a] > s.rank_shift[b]; });
    std::ostringstream moved;
    moved << "largest rank moves between kinds:";
    for (std::int64_t m = 0; m < movers && m < static_cast<std::int64_t>(order.size()); ++m) {
      const std::size_t i = order[m] / C, cell = order[m] % C;
      moved << (m ? ";" : "") << " " << c.inputs[i] << " " << head_name(cell, c.n_heads) << " (ranks";
      for (std::size_t k = 0; k < c.kinds.size(); ++k)
        moved << " " << c.kinds[k] << " " << s.ranks[(k * N + i) * C + cell];
      moved << ")";
    }
    lines.push_back(moved.str());
    results.set_attr("top_same_under_every_kind", static_cast<std::int64_t>(same));
  }
};

Comparison AblationCompare::from_archive(const GroupView& group) {
  Comparison c;
  c.inputs = group.strings("input");
  c.kinds = group.strings("kind");
  c.metric = group.text_attr("metric", group.text_attr("param.metric", "?"));
  c.threshold = group.number_attr("threshold").value_or(0.0);
  const ArrayView v = group.f64("sensitivity");  // [kind, input, layer, head]
  if (v.shape.size() != 4 || v.size(0) != static_cast<std::int64_t>(c.kinds.size()) ||
      v.size(1) != static_cast<std::int64_t>(c.inputs.size()))
    fail(group.path() + "/sensitivity", "expected [kind, input, layer, head] over " +
                                            std::to_string(c.kinds.size()) + " kinds and " +
                                            std::to_string(c.inputs.size()) + " inputs");
  c.n_layers = static_cast<int>(v.size(2));
  c.n_heads = static_cast<int>(v.size(3));
  c.values = v.values;
  return c;
}

void AblationCompare::report(const GroupView& group, ReportPage& page) {
  const Comparison c = from_archive(group);
  if (group.has_dataset("spearman") && group.has_dataset("kendall") && group.has_dataset("pair")) {
    const std::vector<std::string> pairs = group.strings("pair");
    const ArrayView rho = group.f64("spearman"), tau = group.f64("kendall");  // [input, pair]
    TableFigure t;
    t.title = "rank agreement of |" + c.metric + "| between ablation kinds, per input (Spearman / Kendall tau-b)";
    t.header = {"input"};
    t.header.insert(t.header.end(), pairs.begin(), pairs.end());
    for (std::size_t i = 0; i < c.inputs.size(); ++i) {
      std::vector<std::string> row = {c.inputs[i]};
      for (std::size_t p = 0; p < pairs.size(); ++p)
        row.push_back(fixed(rho.values[i * pairs.size() + p], 2) + " / " + fixed(tau.values[i * pairs.size() + p], 2));
      t.rows.push_back(row);
    }
    page.table(t);
  } else {
    page.note("spearman/kendall are not in the archive (a run over only some layers): no agreement table");
  }
  if (group.has_dataset("negligible_share") && group.has_dataset("negligible_share_all_kinds")) {
    const ArrayView share = group.f64("negligible_share"), all = group.f64("negligible_share_all_kinds");
    TableFigure t;
    t.title = "share of heads with |" + c.metric + "| < " + fixed(c.threshold, 4);
    t.header = {"input"};
    t.header.insert(t.header.end(), c.kinds.begin(), c.kinds.end());
    t.header.push_back("every kind");
    for (std::size_t i = 0; i < c.inputs.size(); ++i) {
      std::vector<std::string> row = {c.inputs[i]};
      for (std::size_t k = 0; k < c.kinds.size(); ++k) row.push_back(fixed(share.values[k * c.inputs.size() + i], 3));
      row.push_back(fixed(all.values[i], 3));
      t.rows.push_back(row);
    }
    page.table(t);
  }
  page.heading("matrices side by side");
  ablation_compare::draw(page, c);
}

}  // namespace

MECHLENS_PLUGIN(AblationCompare)
