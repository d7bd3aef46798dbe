#include "head_metrics.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"

namespace sensitivity {

Baseline make_baseline(const at::Tensor& logits) {
  Baseline b;
  b.logits = logits.to(at::kDouble);
  b.log_probs = at::log_softmax(b.logits, -1);
  auto top = at::topk(b.logits, 2);
  b.top_token = std::get<1>(top)[0].item<std::int64_t>();
  b.runner_up = std::get<1>(top)[1].item<std::int64_t>();
  b.top_prob = b.log_probs[b.top_token].exp().item<double>();
  return b;
}

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names{"top1_prob_change", "kl", "logit_diff"};
  return names;
}

at::Tensor metric(const std::string& name, const Baseline& base, const at::Tensor& ablated_logits) {
  // float64 so that tiny relative changes of tiny probabilities stay exact.
  const at::Tensor logits = ablated_logits.to(at::kDouble);
  const at::Tensor log_probs = at::log_softmax(logits, -1);
  if (name == "top1_prob_change") {
    return (log_probs.select(-1, base.top_token).exp() - base.top_prob) / base.top_prob;
  }
  if (name == "kl") {
    const at::Tensor p = base.log_probs.exp();
    return (p * (base.log_probs - log_probs)).sum(-1);
  }
  if (name == "logit_diff") {
    const double clean = (base.logits[base.top_token] - base.logits[base.runner_up]).item<double>();
    return logits.select(-1, base.top_token) - logits.select(-1, base.runner_up) - clean;
  }
  mechlens::fail("sensitivity_matrix", "unknown metric '" + name + "'");
}

}  // namespace sensitivity
