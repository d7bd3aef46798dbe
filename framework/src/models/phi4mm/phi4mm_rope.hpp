#pragma once
// Rotary tables of the Phi-4-mini decoder: partial rotary (the first
// rotary_dim = int(head_dim * partial_rotary_factor) dimensions of each head,
// 96 of 128) with LongRoPE. For a forward over `length` positions
// (modeling_rope_utils.py longrope, Phi4MMLongRoPEScaledRotaryEmbedding):
//   ext      = long_factor if length > original_max_position_embeddings else short_factor
//   inv_freq = 1 / (ext * theta ** (arange(0, d, 2) / d))      float32, d = rotary_dim
//   cos, sin = cos/sin(pos * inv_freq) * attention_factor       for short sequences too
// and the default rope (no rope_scaling): the same without ext and factor.
#include <ATen/core/Tensor.h>

#include "models/layers/rotary.hpp"
#include "models/phi4mm/phi4mm_config.hpp"

namespace mechlens::models::phi4mm {

// [rotary_dim / 2] float32: the inverse frequencies used for a sequence of `length`.
at::Tensor rope_inv_freq(const Phi4mmConfig& config, std::int64_t length, const at::Device& device);
// Tables for positions [0, length), applied by layers::apply_rotary to the
// first rotary_dim dimensions (the rest pass through).
layers::RotaryTables rope_tables(const Phi4mmConfig& config, std::int64_t length, at::ScalarType dtype,
                                 const at::Device& device);

}  // namespace mechlens::models::phi4mm
