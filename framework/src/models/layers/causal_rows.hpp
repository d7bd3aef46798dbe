#pragma once
// Queries of a causal rotary decoder at a few chosen positions only, against
// the keys of every position (models/final_block_at.hpp: the final block at
// the answer rows, issue 14). The full forward's query at position p sees
// keys 0..p that are real tokens and is rotated by p's angle; a query taken
// out of the sequence must keep both, whatever p is (not only the last).
#include <ATen/core/Tensor.h>

#include "models/layers/rotary.hpp"

namespace mechlens::layers {

// Fails unless `positions` is a non-empty [P] tensor with each in [0, length)
// (any adapter's final block at positions, BERT's too).
void check_positions(const at::Tensor& positions, std::int64_t length);

// Boolean mask [B|1, 1, P, T], true = may attend: key <= positions[p] and
// the key is a real token of that row (`attention_mask` [B, T], true = real;
// undefined = no padding). `positions` [P] int64, each in [0, T).
at::Tensor causal_mask_at(const at::Tensor& attention_mask, const at::Tensor& positions, std::int64_t length,
                          const at::Device& device);

// The rows of `all` (tables over positions [0, T)) at `positions` [P]:
// tables broadcastable over queries [B, P, H, d].
RotaryTables rotary_at(const RotaryTables& all, const at::Tensor& positions);

}  // namespace mechlens::layers
