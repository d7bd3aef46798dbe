#pragma once
// What the lens reads off one layer entry's logits at a few positions: the
// top-k tokens, where the target ranks, how far the distribution is from the
// model's final one. Plain ATen, float64 statistics.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace logit_lens {

struct Readout {
  at::Tensor topk_id;      // [P, k] int64
  at::Tensor topk_prob;    // [P, k] float64
  at::Tensor target_rank;  // [P] int64, 1 = the top token
  at::Tensor target_prob;  // [P] float64
  at::Tensor target_logit; // [P] float64
  at::Tensor kl_from_final;  // [P] KL(final || entry), nats
  at::Tensor entropy;      // [P] nats
  at::Tensor tracked_prob; // [P, n_tracked]
};

// `logits` [P, vocab] of one entry; `final_log_probs` [P, vocab] float64 of
// the model's own output at the same positions.
Readout read_out(const at::Tensor& logits, const at::Tensor& final_log_probs, std::int64_t target, int k,
                 const std::vector<std::int64_t>& tracked);

}  // namespace logit_lens
