#pragma once
// How much an ablated run's next-token distribution departs from the clean one.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace sensitivity {

// The clean run at the answer position: its top token t* and p(t*).
struct Baseline {
  at::Tensor log_probs;  // [vocab] float64
  at::Tensor logits;     // [vocab] float64
  std::int64_t top_token = -1;
  std::int64_t runner_up = -1;
  double top_prob = 0.0;
};

Baseline make_baseline(const at::Tensor& logits);  // logits [vocab]

// The metrics a recipe may ask for, computed for a stack of ablated logits
// [rows, vocab] against the baseline → [rows] each.
//   top1_prob_change  (p_abl(t*) - p*) / p*        seed 000's heat map (negative = drop)
//   kl                KL(clean || ablated) in nats
//   logit_diff        change of logit(t*) - logit(t2), t2 = the clean runner-up
const std::vector<std::string>& metric_names();
at::Tensor metric(const std::string& name, const Baseline& baseline, const at::Tensor& ablated_logits);

}  // namespace sensitivity
