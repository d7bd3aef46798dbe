// Sensitivity matrix (seed 000): disable one attention head at a time and
// record how the model's answer changes. Rows = layers, columns = heads.
//
// For each input, the clean run gives the top token t* and p(t*) at the answer
// position (BERT: the [MASK]; decoders: the last position). Then, for every
// (layer, head), the head's output (hook_z) is ablated and the metrics are
// recorded. All heads of a layer ride in one batch, resumed from the clean
// residual entering that layer (nothing before the ablation is recomputed).
#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "attribution_method.hpp"
#include "head_metrics.hpp"
#include "mechlens/archive_view.hpp"
#include "mechlens/interventions.hpp"
#include "mechlens/layer_selection.hpp"
#include "mechlens/plugin.hpp"
#include "mechlens/report_page.hpp"
#include "mechlens/run_context.hpp"
#include "mechlens/tensor_store.hpp"

namespace {

using namespace mechlens;

class SensitivityMatrix : public Analysis {
 public:
  static PluginInfo describe() {
    return {"sensitivity_matrix", "1.0.0",
            "Head ablation heat map: change of the answer when each (layer, head) is disabled",
            {
                param::string("ablation", "zero",
                              "How a head is disabled: zero (output set to 0, as in the seed), identity "
                              "(attends only to its own position), mean (output replaced by its mean over positions)")
                    .choices({"zero", "identity", "mean"}),
                param::string_list("metrics", sensitivity::metric_names(),
                                   "top1_prob_change: (p_ablated(t*) - p*) / p*; kl: KL(clean || ablated); "
                                   "logit_diff: change of logit(t*) - logit(t2), t2 the clean runner-up")
                    .choices(sensitivity::metric_names()),
                param::integer_list("layers", {}, "Layers to sweep (empty = all)"),
                param::string("method", "exact",
                              "exact: every head ablated (one batched forward per layer from the cached residual); "
                              "attribution: first-order estimate of every head from one forward and one backward "
                              "per metric (attribution patching; kl has no first-order term: NaN)")
                    .choices({"exact", "attribution"}),
                param::integer("verify_top", 0,
                               "method = attribution: re-measure this many heads with the largest |estimate| "
                               "exactly, per input; both are stored (exact_<metric>) with their agreement")
                    .at_least(0),
            }};
  }

  void run(RunContext& ctx) override {
    const Geometry g = ctx.model.geometry();
    const HeadAblation kind = parse_head_ablation(ctx.params.get<std::string>("ablation"));
    const auto& metrics = ctx.params.get<std::vector<std::string>>("metrics");
    const std::vector<int> layers = chosen_layers(ctx.params, g.n_layers, "sensitivity_matrix");
    const auto n_inputs = static_cast<std::int64_t>(ctx.inputs.size());
    const std::int64_t shape_per_input = g.n_layers * g.n_heads;

    // Results so far (NaN = not computed): restored from the archive on resume.
    std::map<std::string, std::vector<double>> values;
    for (const auto& m : metrics) values[m] = restore(ctx, m, n_inputs * shape_per_input);
    // method = attribution: the estimate goes to `values`, verified heads' exact values here.
    const bool attribution = ctx.params.get<std::string>("method") == "attribution";
    const std::int64_t verify_top = attribution ? ctx.params.get<std::int64_t>("verify_top") : 0;
    std::map<std::string, std::vector<double>> exact;
    if (verify_top > 0)
      for (const auto& m : metrics) exact[m] = restore(ctx, "exact_" + m, n_inputs * shape_per_input);
    std::vector<std::int64_t> top_token(n_inputs, -1);
    std::vector<double> top_prob(n_inputs, std::nan(""));
    std::vector<std::string> top_string(n_inputs);

    write_coordinates(ctx, g);
    for (std::int64_t i = 0; i < n_inputs; ++i) {
      const EncodedInput& input = ctx.inputs[i];
      const std::string unit = "input_" + std::to_string(i);
      const Batch single = ctx.model.make_batch({&input});
      const at::Tensor answer = at::tensor({input.answer_position}, at::kLong);

      // Clean run, keeping the residual entering every layer.
      const CleanRun clean = capture_resid_pre(ctx.model, single, answer);
      const sensitivity::Baseline base = sensitivity::make_baseline(clean.logits[0][0]);
      top_token[i] = base.top_token;
      top_prob[i] = base.top_prob;
      top_string[i] = ctx.model.token_string(base.top_token);

      if (!ctx.results.unit_done(unit) && attribution) {
        const sensitivity::Attribution a =
            sensitivity::attribute(ctx.model, single, answer, base, kind, metrics, layers, verify_top);
        for (const auto& m : metrics) {
          copy_matrix(a.estimate.at(m), values[m], i * shape_per_input);
          if (verify_top > 0) copy_matrix(a.exact.at(m), exact[m], i * shape_per_input);
        }
        for (const auto& m : metrics) {
          write_matrix(ctx, m, values[m], n_inputs, g);
          if (verify_top > 0) write_matrix(ctx, "exact_" + m, exact[m], n_inputs, g);
        }
        ctx.results.mark_unit_done(unit);
      } else if (!ctx.results.unit_done(unit)) {
        for (std::size_t li = 0; li < layers.size(); ++li) {
          const int layer = layers[li];
          ctx.progress.update(input.spec.id, static_cast<std::int64_t>(li), static_cast<std::int64_t>(layers.size()));
          const at::Tensor ablated = ablate_each_head(ctx.model, single, clean.resid_pre[layer], layer, kind, answer);
          const at::Tensor rows = ablated.select(1, 0);  // [heads, vocab]
          for (const auto& m : metrics) {
            const at::Tensor per_head = sensitivity::metric(m, base, rows).contiguous();
            const double* src = per_head.data_ptr<double>();
            std::copy(src, src + g.n_heads, values[m].begin() + i * shape_per_input + layer * g.n_heads);
          }
        }
        for (const auto& m : metrics) write_matrix(ctx, m, values[m], n_inputs, g);
        ctx.results.mark_unit_done(unit);
      }
    }

    write_tensor(ctx.results, "baseline_token", at::tensor(top_token, at::kLong), {"input"});
    write_tensor(ctx.results, "baseline_prob", at::tensor(top_prob, at::kDouble), {"input"});
    ctx.results.write_strings("baseline_token_str", top_string, "input");
    ctx.results.set_attr("ablation", ctx.params.get<std::string>("ablation"));
    ctx.results.set_attr("method", ctx.params.get<std::string>("method"));
    for (const auto& [m, e] : exact) write_agreement(ctx.results, m, values.at(m), e);
    summarise(ctx.results, ctx.findings, metrics.front(), values.at(metrics.front()), n_inputs, g.n_layers, g.n_heads);
    std::vector<std::string> ids;
    for (const auto& input : ctx.inputs) ids.push_back(input.spec.id);
    for (const auto& m : metrics)
      draw(ctx.figures, m, ctx.params.get<std::string>("ablation"), values.at(m), ids, g.n_layers, g.n_heads);
  }

 private:
  static std::vector<double> restore(const RunContext& ctx, const std::string& metric, std::int64_t size) {
    if (ctx.results.has(metric)) {
      std::vector<double> old = ctx.results.read_f64(metric);
      if (static_cast<std::int64_t>(old.size()) == size) return old;
    }
    return std::vector<double>(size, std::nan(""));
  }

  // Exact vs estimate wherever both exist (the verified heads of every input).
  // Also run by `mechlens merge` over the merged shards (merge_rules).
  static void write_agreement(ResultGroup& results, const std::string& m, const std::vector<double>& estimate,
                              const std::vector<double>& exact) {
    const at::Tensor est = at::tensor(estimate, at::kDouble), ex = at::tensor(exact, at::kDouble);
    const at::Tensor both = est.isfinite().logical_and(ex.isfinite());
    if (!both.any().item<bool>()) return;
    results.set_attr("agreement_spearman_" + m, sensitivity::spearman_finite(est, ex));
    results.set_attr("agreement_max_abs_error_" + m,
                     (est.masked_select(both) - ex.masked_select(both)).abs().max().item<double>());
  }

  // A [layers, heads] f64 matrix into the flat [input, layer, head] values at `offset`.
  static void copy_matrix(const at::Tensor& m, std::vector<double>& out, std::int64_t offset) {
    const at::Tensor c = m.to(at::kDouble).contiguous();
    std::copy(c.data_ptr<double>(), c.data_ptr<double>() + c.numel(), out.begin() + offset);
  }

  static void write_coordinates(RunContext& ctx, const Geometry& g) {
    write_tensor(ctx.results, "layer", at::arange(g.n_layers, at::kLong), {"layer"});
    write_tensor(ctx.results, "head", at::arange(g.n_heads, at::kLong), {"head"});
  }

  static void write_matrix(RunContext& ctx, const std::string& metric, const std::vector<double>& v,
                           std::int64_t n_inputs, const Geometry& g) {
    ArrayRef array{ElementType::f64, {n_inputs, g.n_layers, g.n_heads}, v.data()};
    ctx.results.write(metric, array, {"input", "layer", "head"});
  }

  // Seed 000's picture: layers x heads, one per input, and the mean over
  // inputs. The run's files and the report page draw with this one function.
  static void draw(Figures& figures, const std::string& metric, const std::string& ablation,
                   const std::vector<double>& v, const std::vector<std::string>& ids, int n_layers, int n_heads) {
    const std::size_t cells = static_cast<std::size_t>(n_layers) * n_heads;
    const std::string how = " (" + ablation + " ablation)";
    std::vector<double> mean(cells, 0.0);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const std::vector<double> one(v.begin() + i * cells, v.begin() + (i + 1) * cells);
      figures.heatmap(metric + "_" + ids[i], metric + how + ", input " + ids[i], n_layers, n_heads, one);
      for (std::size_t c = 0; c < cells; ++c) mean[c] += one[c] / static_cast<double>(ids.size());
    }
    if (ids.size() > 1)
      figures.heatmap(metric + "_mean", metric + how + ", mean of " + std::to_string(ids.size()) + " inputs",
                      n_layers, n_heads, mean);
  }

 public:
  // Report section, from the archive alone: each input's answer, then the
  // run's heat maps for every metric stored.
  static void report(const GroupView& group, ReportPage& page) {
    const std::vector<std::string> ids = group.strings("input");
    std::string ablation = group.text_attr("ablation", group.text_attr("param.ablation", "?"));
    if (group.has_dataset("baseline_token_str")) {
      const auto tokens = group.strings("baseline_token_str");
      const std::vector<double> probs =
          group.has_dataset("baseline_prob") ? group.f64("baseline_prob").values : std::vector<double>();
      TableFigure answers;
      answers.title = "clean answer per input (t*, p*)";
      answers.header = {"input", "top token", "probability"};
      for (std::size_t i = 0; i < ids.size() && i < tokens.size(); ++i) {
        std::ostringstream p;
        if (i < probs.size()) p << probs[i];
        answers.rows.push_back({ids[i], tokens[i], p.str()});
      }
      page.table(answers);
    } else {
      page.note("baseline_token_str is missing: the clean answers are not shown");
    }
    std::vector<std::string> metrics = group.texts_attr("param.metrics");
    if (metrics.empty()) metrics = sensitivity::metric_names();
    int drawn = 0;
    for (const auto& m : metrics) {
      if (!group.has_dataset(m)) {
        page.note("metric '" + m + "' is not in the archive (" + group.path() + "/" + m + ")");
        continue;
      }
      const ArrayView a = group.f64(m);  // [input, layer, head]
      if (a.shape.size() != 3 || a.size(0) != static_cast<std::int64_t>(ids.size()))
        fail(group.path() + "/" + m, "expected [input, layer, head] over " + std::to_string(ids.size()) + " inputs");
      page.heading(m);
      draw(page, m, ablation, a.values, ids, static_cast<int>(a.size(1)), static_cast<int>(a.size(2)));
      ++drawn;
    }
    if (!drawn) fail(group.path(), "none of the metrics " + std::to_string(metrics.size()) + " is stored");
  }

 private:
  // The finding a person reads first: which head matters most, on average.
  // (Also run by `mechlens merge` over the merged shards: see merge_rules.)
  static void summarise(ResultGroup& results, std::vector<std::string>& findings, const std::string& metric,
                        const std::vector<double>& v, std::int64_t n_inputs, std::int64_t n_layers, std::int64_t n_heads) {
    double best = -1.0;
    int best_layer = -1, best_head = -1;
    for (int l = 0; l < n_layers; ++l)
      for (int h = 0; h < n_heads; ++h) {
        double sum = 0.0;
        int n = 0;
        for (std::int64_t i = 0; i < n_inputs; ++i) {
          const double x = v[i * n_layers * n_heads + l * n_heads + h];
          if (!std::isnan(x)) sum += std::abs(x), ++n;
        }
        if (n && sum / n > best) best = sum / n, best_layer = l, best_head = h;
      }
    if (best_layer < 0) return;
    std::ostringstream line;
    line << "largest sensitivity (" << metric << ", mean |value| over " << n_inputs
         << " inputs): layer " << best_layer << " head " << best_head << " = " << best;
    findings.push_back(line.str());
    results.set_attr("largest_layer", static_cast<std::int64_t>(best_layer));
    results.set_attr("largest_head", static_cast<std::int64_t>(best_head));
  }

 public:
  // Shards (mechlens merge): the [input, ...] datasets concatenate (the
  // default), coordinates and `ablation` are the same in every shard, and
  // the largest head is found again over every input.
  static MergeRules merge_rules(const ParamValues& params) {
    MergeRules rules;
    rules.attributes = {{"largest_layer", Combine::recompute}, {"largest_head", Combine::recompute}};
    for (const auto& m : params.get<std::vector<std::string>>("metrics")) {  // method = attribution, verify_top > 0
      rules.attributes.push_back({"agreement_spearman_" + m, Combine::recompute});
      rules.attributes.push_back({"agreement_max_abs_error_" + m, Combine::recompute});
    }
    rules.summarise = &summarise_merged;
    return rules;
  }

 private:
  static void summarise_merged(const GroupView& merged, ResultGroup& out, std::vector<std::string>& findings) {
    const std::vector<std::string> metrics = merged.texts_attr("param.metrics");
    if (metrics.empty() || !merged.has_dataset(metrics.front())) return;
    for (const auto& m : metrics)
      if (merged.has_dataset(m) && merged.has_dataset("exact_" + m))
        write_agreement(out, m, merged.f64(m).values, merged.f64("exact_" + m).values);
    const ArrayView v = merged.f64(metrics.front());  // [input, layer, head]
    summarise(out, findings, metrics.front(), v.values, v.size(0), v.size(1), v.size(2));
  }
};

}  // namespace

MECHLENS_PLUGIN(SensitivityMatrix)
