// Head attribution (attribution patching; Nanda 2023, TransformerLens'
// Attribution_Patching_Demo): the sensitivity matrix estimated for every
// head at once. The change of the answer when head h of layer l is ablated is
// taken to first order, gradient times difference at hook_z, from one clean
// forward and one backward per metric instead of one ablated forward per head.
// Good for ranking heads, poor where attention saturates (METHODS.md): the
// `verify_top` largest heads are re-measured with the exact ablation and both
// are stored, with their agreement.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "mechlens/archive_view.hpp"
#include "mechlens/interventions.hpp"
#include "mechlens/plugin.hpp"
#include "mechlens/run_context.hpp"
#include "mechlens/tensor_store.hpp"

namespace {

using namespace mechlens;

const std::vector<std::string> kMetrics = {"top1_prob_change", "logit_diff"};

// The sensitivity matrix's metrics as functions of the answer logits [vocab],
// relative to the clean top token t* (and runner-up t2).
LogitMetric metric(const std::string& name, std::int64_t top, std::int64_t runner_up, double top_prob) {
  if (name == "top1_prob_change")
    return [=](const at::Tensor& logits) { return at::softmax(logits[0], -1)[top] / top_prob; };
  return [=](const at::Tensor& logits) { return logits[0][top] - logits[0][runner_up]; };
}

double spearman(std::vector<double> a, std::vector<double> b) {
  auto ranks = [](const std::vector<double>& v) {
    std::vector<std::size_t> order(v.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return v[i] < v[j]; });
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < order.size(); ++i) r[order[i]] = static_cast<double>(i);
    return r;
  };
  const auto ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size());
  if (n < 2) return NAN;
  double d2 = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d2 += (ra[i] - rb[i]) * (ra[i] - rb[i]);
  return 1 - 6 * d2 / (n * (n * n - 1));
}

class HeadAttribution : public Analysis {
 public:
  static PluginInfo describe() {
    return {"head_attribution", "1.0.0",
            "Sensitivity matrix estimated by attribution patching: gradient x (ablated - clean) at hook_z, all heads at once",
            {
                param::string("ablation", "zero",
                              "The ablation estimated: zero (z = 0), identity (z_t = v_t), mean (z = its mean over the "
                              "input's positions)")
                    .choices({"zero", "identity", "mean"}),
                param::string_list("metrics", kMetrics,
                                   "top1_prob_change: (p_ablated(t*) - p*) / p*; logit_diff: change of logit(t*) - "
                                   "logit(t2). (KL has zero gradient at the clean run: no first-order estimate.)")
                    .choices(kMetrics),
                param::integer("verify_top", 0,
                               "Re-measure this many heads with the largest estimated |effect| (per input, first "
                               "metric) with the exact ablation; both are stored")
                    .at_least(0),
            }};
  }

  void run(RunContext& ctx) override {
    const Geometry g = ctx.model.geometry();
    const HeadAblation kind = parse_head_ablation(ctx.params.get<std::string>("ablation"));
    const auto& names = ctx.params.get<std::vector<std::string>>("metrics");
    const auto verify = ctx.params.get<std::int64_t>("verify_top");
    const auto N = static_cast<std::int64_t>(ctx.inputs.size());
    const auto M = static_cast<std::int64_t>(names.size());
    const auto f64 = at::TensorOptions().dtype(at::kDouble);
    at::Tensor estimate = at::full({M, N, g.n_layers, g.n_heads}, NAN, f64);
    at::Tensor exact = at::full({M, N, g.n_layers, g.n_heads}, NAN, f64);
    std::vector<std::int64_t> top_token(N);

    for (std::int64_t i = 0; i < N; ++i) {
      ctx.progress.update("head_attribution", i, N);
      const EncodedInput& input = ctx.inputs[i];
      const Batch single = ctx.model.make_batch({&input});
      const at::Tensor answer = at::tensor({input.answer_position}, at::kLong);
      // The clean answer fixes t*, t2 and p* before the metrics are built.
      at::Tensor clean;
      {
        at::NoGradGuard no_grad;
        clean = ctx.model.forward(single, nullptr, answer)[0][0].to(at::kDouble);
      }
      const at::Tensor top2 = std::get<1>(clean.topk(2));
      const std::int64_t top = top2[0].item<std::int64_t>(), runner = top2[1].item<std::int64_t>();
      const double p_top = at::softmax(clean, -1)[top].item<double>();
      top_token[i] = top;
      std::vector<LogitMetric> metrics;
      for (const auto& n : names) metrics.push_back(metric(n, top, runner, p_top));
      const at::Tensor effect = attribute_head_ablations(ctx.model, single, kind, answer, metrics);  // [M, L, H]
      estimate.select(1, i).copy_(effect);
      if (verify > 0) verify_largest(ctx, single, kind, answer, clean, names, effect, verify, exact.select(1, i));
    }
    write(ctx, names, estimate, exact, top_token, g, verify > 0);
  }

 private:
  // The exact ablation for the `count` heads with the largest |estimate| of the first metric.
  static void verify_largest(RunContext& ctx, const Batch& single, HeadAblation kind, const at::Tensor& answer,
                             const at::Tensor& clean, const std::vector<std::string>& names, const at::Tensor& effect,
                             std::int64_t count, at::Tensor exact) {
    const Geometry g = ctx.model.geometry();
    const at::Tensor order = effect[0].abs().flatten().argsort(0, /*descending=*/true);
    std::map<int, std::vector<int>> by_layer;
    for (std::int64_t k = 0; k < std::min<std::int64_t>(count, order.size(0)); ++k) {
      const std::int64_t flat = order[k].item<std::int64_t>();
      by_layer[static_cast<int>(flat / g.n_heads)].push_back(static_cast<int>(flat % g.n_heads));
    }
    const CleanRun run = capture_resid_pre(ctx.model, single, answer);
    const at::Tensor clean_p = at::softmax(clean, -1);
    const at::Tensor top2 = std::get<1>(clean.topk(2));
    const std::int64_t top = top2[0].item<std::int64_t>(), runner = top2[1].item<std::int64_t>();
    for (const auto& [layer, heads] : by_layer) {
      const at::Tensor logits =
          ablate_each_head(ctx.model, single, run.resid_pre[layer], layer, kind, answer, heads).select(1, 0).to(at::kDouble);
      for (std::size_t m = 0; m < names.size(); ++m)
        for (std::size_t j = 0; j < heads.size(); ++j) {
          const at::Tensor row = logits[static_cast<std::int64_t>(j)];
          const double value =
              names[m] == "top1_prob_change"
                  ? (at::softmax(row, -1)[top].item<double>() - clean_p[top].item<double>()) / clean_p[top].item<double>()
                  : (row[top] - row[runner]).item<double>() - (clean[top] - clean[runner]).item<double>();
          exact[static_cast<std::int64_t>(m)][layer][heads[j]] = value;
        }
    }
  }

  static void write(RunContext& ctx, const std::vector<std::string>& names, const at::Tensor& estimate,
                    const at::Tensor& exact, const std::vector<std::int64_t>& top_token, const Geometry& g,
                    bool verified) {
    ResultGroup& out = ctx.results;
    write_tensor(out, "layer", at::arange(g.n_layers, at::kLong), {"layer"});
    write_tensor(out, "head", at::arange(g.n_heads, at::kLong), {"head"});
    write_tensor(out, "baseline_token", at::tensor(top_token, at::kLong), {"input"});
    out.set_attr("ablation", ctx.params.get<std::string>("ablation"));
    out.set_attr("method", std::string("attribution patching: grad(metric, hook_z) . (z_ablated - z)"));
    for (std::size_t m = 0; m < names.size(); ++m) {
      const auto mi = static_cast<std::int64_t>(m);
      write_tensor(out, names[m], estimate[mi], {"input", "layer", "head"});
      if (verified) write_tensor(out, "exact_" + names[m], exact[mi], {"input", "layer", "head"});
    }
    const at::Tensor mean = summarise(out, ctx.findings, names, estimate, exact, verified);
    HeatmapFigure map;
    map.name = names[0] + "_mean_abs";
    map.title = "attribution estimate of " + names[0] + " (" + ctx.params.get<std::string>("ablation") +
                " ablation), mean |value|";
    map.rows = g.n_layers, map.cols = g.n_heads;
    const at::Tensor c = mean.contiguous();
    map.values.assign(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
    ctx.figures.heatmap(map);
  }

  // Agreement of estimate and exact values, and the headline. Also run by
  // `mechlens merge` over the merged shards (merge_rules). Returns the mean
  // |estimate| of the first metric, [layer, head].
  static at::Tensor summarise(ResultGroup& out, std::vector<std::string>& findings, const std::vector<std::string>& names,
                              const at::Tensor& estimate, const at::Tensor& exact, bool verified) {
    for (std::size_t m = 0; m < names.size() && verified; ++m) {
      const auto mi = static_cast<std::int64_t>(m);
      // Agreement where both exist.
      const at::Tensor both = exact[mi].isfinite();
      std::vector<double> a, b;
      const at::Tensor ea = estimate[mi].masked_select(both), eb = exact[mi].masked_select(both);
      for (std::int64_t k = 0; k < ea.size(0); ++k) a.push_back(ea[k].item<double>()), b.push_back(eb[k].item<double>());
      if (!a.empty()) {
        out.set_attr("max_abs_error_" + names[m], (ea - eb).abs().max().item<double>());
        out.set_attr("spearman_verified_" + names[m], spearman(a, b));
      }
    }
    // The headline: which head the estimate says matters most, on average.
    const at::Tensor mean = estimate[0].abs().nanmean(0);  // [L, H]
    const std::int64_t n_heads = mean.size(1);
    const std::int64_t best = mean.flatten().argmax().item<std::int64_t>();
    const int layer = static_cast<int>(best / n_heads), head = static_cast<int>(best % n_heads);
    out.set_attr("largest_layer", static_cast<std::int64_t>(layer));
    out.set_attr("largest_head", static_cast<std::int64_t>(head));
    std::ostringstream line;
    line << "largest estimated effect (" << names[0] << ", mean |value| over " << estimate.size(1)
         << " inputs): layer " << layer << " head " << head << " = " << mean[layer][head].item<double>();
    findings.push_back(line.str());
    return mean;
  }

 public:
  // Shards (mechlens merge): [input, ...] datasets concatenate (the default);
  // the agreement attributes and the largest head are computed again over
  // every input, by the code the run uses.
  static MergeRules merge_rules(const ParamValues& params) {
    MergeRules rules;
    for (const auto& n : params.get<std::vector<std::string>>("metrics")) {
      rules.attributes.push_back({"max_abs_error_" + n, Combine::recompute});
      rules.attributes.push_back({"spearman_verified_" + n, Combine::recompute});
    }
    rules.attributes.push_back({"largest_layer", Combine::recompute});
    rules.attributes.push_back({"largest_head", Combine::recompute});
    rules.summarise = &summarise_merged;
    return rules;
  }

 private:
  static at::Tensor stacked(const GroupView& merged, const std::vector<std::string>& names, const std::string& prefix) {
    std::vector<at::Tensor> parts;
    for (const auto& n : names) {
      const ArrayView a = merged.f64(prefix + n);
      parts.push_back(at::tensor(a.values, at::kDouble).view(a.shape));
    }
    return at::stack(parts);  // [metric, input, layer, head]
  }

  static void summarise_merged(const GroupView& merged, ResultGroup& out, std::vector<std::string>& findings) {
    const std::vector<std::string> names = merged.texts_attr("param.metrics");
    if (names.empty()) return;
    const bool verified = merged.has_dataset("exact_" + names[0]);
    const at::Tensor estimate = stacked(merged, names, "");
    summarise(out, findings, names, estimate, verified ? stacked(merged, names, "exact_") : at::Tensor(), verified);
  }
};

}  // namespace

MECHLENS_PLUGIN(HeadAttribution)
