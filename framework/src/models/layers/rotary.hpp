#pragma once
// Rotary position embeddings, rotate-half convention (GPT-NeoX / Llama /
// Qwen2 / Phi-3 in transformers): dimension i of the rotated part pairs with
// dimension i + rotary_dim/2, NOT with its neighbour i+1 (that is the GPT-J
// "interleaved" convention). See rotate_half and apply_rotary_pos_emb in
// transformers/models/qwen2/modeling_qwen2.py.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace mechlens::layers {

// cos/sin tables for positions [0, length) broadcastable over [B, T, H, d]:
// shape [T, 1, rotary_dim]. The angles are computed in float32 whatever the
// model dtype, as Qwen2RotaryEmbedding does (inv_freq = 1 / theta^(2i/d) in
// float32, freqs = position * inv_freq in float32, emb = cat(freqs, freqs)),
// then cast to `dtype` (the hidden states' dtype), as HF does before the
// multiplication. `scale` multiplies cos and sin (attention_scaling; 1 for
// the default rope type).
struct RotaryTables {
  at::Tensor cos;  // [T, 1, rotary_dim]
  at::Tensor sin;
  std::int64_t rotary_dim = 0;
};
RotaryTables rotary_tables(std::int64_t length, std::int64_t rotary_dim, double theta, at::ScalarType dtype,
                           const at::Device& device, double scale = 1.0);
// Same, from explicit inverse frequencies (float32, [rotary_dim / 2]) — for
// rope variants that rescale them (LongRoPE).
RotaryTables rotary_tables_from_inv_freq(std::int64_t length, const at::Tensor& inv_freq, at::ScalarType dtype,
                                         const at::Device& device, double scale = 1.0);

// [..., d] → [-x2, x1] with x1 the first and x2 the second half.
at::Tensor rotate_half(const at::Tensor& x);

// x [B, T, H, d] rotated on its first tables.rotary_dim dimensions (the rest
// passes through: partial rotary); x * cos + rotate_half(x) * sin.
at::Tensor apply_rotary(const at::Tensor& x, const RotaryTables& tables);

}  // namespace mechlens::layers
