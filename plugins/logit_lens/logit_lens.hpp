#pragma once
// The lens of one input, kept until the whole analysis is written.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace logit_lens {

// E = n_layers + 1 layer entries (entry e = the residual entering layer e;
// entry n_layers = the stream after the last layer), P chosen positions.
struct InputLens {
  std::vector<std::int64_t> positions;  // token indices, ascending
  std::int64_t answer_slot = -1;        // index into positions of the answer (or -1)
  std::int64_t target = -1;
  std::string target_source;  // "expected" | "model"
  at::Tensor topk_id, topk_prob;          // [E, P, k]
  at::Tensor target_rank, target_prob, target_logit, kl_from_final, entropy;  // [E, P]
  at::Tensor tracked_prob;                // [E, P, n_tracked]
};

}  // namespace logit_lens
