#include "lens_readout.hpp"

#include <ATen/ATen.h>

namespace logit_lens {

Readout read_out(const at::Tensor& logits, const at::Tensor& final_log_probs, std::int64_t target, int k,
                 const std::vector<std::int64_t>& tracked) {
  const at::Tensor z = logits.to(at::kDouble);
  const at::Tensor log_p = at::log_softmax(z, -1);
  const at::Tensor p = log_p.exp();
  Readout r;
  auto top = at::topk(p, k, -1);
  r.topk_prob = std::get<0>(top);
  r.topk_id = std::get<1>(top);
  r.target_logit = z.select(1, target);
  // Rank 1 = no token has a larger logit (ties count in the target's favour).
  r.target_rank = (z > r.target_logit.unsqueeze(1)).sum(1).to(at::kLong) + 1;
  r.target_prob = p.select(1, target);
  const at::Tensor final_p = final_log_probs.exp();
  // 0 * log 0 = 0 for tokens the final distribution never picks.
  r.kl_from_final = (final_p * (final_log_probs - log_p)).nan_to_num(0.0).sum(1);
  r.entropy = -(p * log_p).nan_to_num(0.0).sum(1);
  r.tracked_prob = tracked.empty() ? at::zeros({z.size(0), 0}, at::kDouble)
                                   : p.index_select(1, at::tensor(tracked, at::kLong));
  return r;
}

}  // namespace logit_lens
