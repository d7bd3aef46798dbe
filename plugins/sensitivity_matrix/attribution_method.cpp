#include "attribution_method.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "mechlens/error.hpp"

namespace sensitivity {
namespace {

// The metric as a function of the answer logits whose first-order change is
// the metric's value: top1_prob_change = p(t*)/p* (- 1), logit_diff =
// logit(t*) - logit(t2) (- clean). KL has no first-order term at the clean run.
bool has_estimate(const std::string& name) { return name != "kl"; }

mechlens::LogitMetric as_logit_metric(const std::string& name, const Baseline& base) {
  const std::int64_t top = base.top_token, runner = base.runner_up;
  const double p = base.top_prob;
  if (name == "top1_prob_change")
    return [=](const at::Tensor& logits) { return at::softmax(logits[0], -1)[top] / p; };
  if (name == "logit_diff") return [=](const at::Tensor& logits) { return logits[0][top] - logits[0][runner]; };
  mechlens::fail("sensitivity_matrix", "metric '" + name + "' has no attribution estimate");
}

}  // namespace

Attribution attribute(const mechlens::Model& model, const mechlens::Batch& single, const at::Tensor& answer,
                      const Baseline& base, mechlens::HeadAblation kind, const std::vector<std::string>& metrics,
                      const std::vector<int>& layers, std::int64_t verify_top) {
  const mechlens::Geometry g = model.geometry();
  const auto nan_matrix = [&] { return at::full({g.n_layers, g.n_heads}, NAN, at::kDouble); };
  at::Tensor chosen = at::zeros({g.n_layers, g.n_heads}, at::kBool);
  for (int l : layers) chosen[l].fill_(true);

  std::vector<std::string> estimated;
  std::vector<mechlens::LogitMetric> functions;
  for (const auto& m : metrics)
    if (has_estimate(m)) estimated.push_back(m), functions.push_back(as_logit_metric(m, base));
  Attribution out;
  for (const auto& m : metrics) out.estimate[m] = nan_matrix(), out.exact[m] = nan_matrix();
  if (estimated.empty())
    mechlens::fail("sensitivity_matrix.metrics", "method = \"attribution\" needs top1_prob_change or logit_diff "
                                                 "(kl has zero gradient at the clean run: no first-order estimate)");

  const at::Tensor effect = mechlens::attribute_head_ablations(model, single, kind, answer, functions);  // [M, L, H]
  for (std::size_t m = 0; m < estimated.size(); ++m)
    out.estimate[estimated[m]] = at::where(chosen, effect[static_cast<std::int64_t>(m)], nan_matrix());
  if (verify_top <= 0) return out;

  // The largest |estimate| of the first estimated metric, grouped by layer.
  const at::Tensor score = at::where(chosen, out.estimate[estimated[0]].abs(), at::full_like(effect[0], -1.0));
  const at::Tensor order = score.flatten().argsort(0, /*descending=*/true);
  std::map<int, std::vector<int>> by_layer;
  const std::int64_t n = std::min<std::int64_t>(verify_top, chosen.sum().item<std::int64_t>());
  for (std::int64_t k = 0; k < n; ++k) {
    const std::int64_t flat = order[k].item<std::int64_t>();
    by_layer[static_cast<int>(flat / g.n_heads)].push_back(static_cast<int>(flat % g.n_heads));
  }
  at::NoGradGuard no_grad;
  const mechlens::CleanRun clean = mechlens::capture_resid_pre(model, single, answer);
  for (const auto& [layer, heads] : by_layer) {
    const at::Tensor rows =
        mechlens::ablate_each_head(model, single, clean.resid_pre[layer], layer, kind, answer, heads).select(1, 0);
    for (const auto& m : metrics) {
      const at::Tensor values = metric(m, base, rows);  // [heads.size()]
      for (std::size_t j = 0; j < heads.size(); ++j)
        out.exact[m][layer][heads[j]] = values[static_cast<std::int64_t>(j)];
    }
  }
  return out;
}

double spearman_finite(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor both = a.isfinite().logical_and(b.isfinite());
  const at::Tensor x = a.masked_select(both).to(at::kDouble), y = b.masked_select(both).to(at::kDouble);
  const double n = static_cast<double>(x.numel());
  if (n < 2) return NAN;
  const auto ranks = [](const at::Tensor& v) { return v.argsort().argsort().to(at::kDouble); };
  return 1 - 6 * (ranks(x) - ranks(y)).pow(2).sum().item<double>() / (n * (n * n - 1));
}

}  // namespace sensitivity
