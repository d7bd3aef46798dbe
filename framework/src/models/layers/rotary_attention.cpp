#include "models/layers/rotary_attention.hpp"

#include <ATen/ATen.h>

#include <cmath>

#include "mechlens/error.hpp"
#include "models/layers/attention.hpp"

namespace mechlens::layers {

at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                  const HookScope& hooks, double scale) {
  const auto n_heads = q.size(2), n_kv = k.size(2), d_head = q.size(3);
  if (n_kv <= 0 || n_heads % n_kv != 0)
    fail("attention", std::to_string(n_heads) + " query heads cannot share " + std::to_string(n_kv) + " KV heads");
  if (scale <= 0.0) scale = 1.0 / std::sqrt(static_cast<double>(d_head));
  const at::Tensor kh = repeat_kv(k.transpose(1, 2), n_heads / n_kv);  // [B, H, Tk, dh]
  const at::Tensor vh = repeat_kv(v.transpose(1, 2), n_heads / n_kv);
  // HF eager attention: matmul(q, k^T) * scaling, then the additive mask.
  at::Tensor scores = at::matmul(q.transpose(1, 2), kh.transpose(-1, -2)).mul_(scale);  // [B, H, Tq, Tk]
  const bool boolean_mask = mask.defined() && mask.scalar_type() == at::kBool;
  if (boolean_mask) {
    scores = scores.masked_fill(mask.logical_not(), lowest_value(scores.scalar_type()));
  } else if (mask.defined()) {
    scores = scores + mask.to(scores.scalar_type());
  }
  scores = hooks("hook_attn_scores", std::move(scores));
  const auto dtype = scores.scalar_type();
  // softmax(dim=-1, dtype=float32).to(query dtype), as Qwen2/SigLIP eager attention.
  at::Tensor pattern = (dtype == at::kFloat || dtype == at::kDouble) ? at::softmax(scores, -1)
                                                                     : at::softmax(scores, -1, at::kFloat).to(dtype);
  if (boolean_mask) pattern = pattern.masked_fill(mask.logical_not(), 0);
  pattern = hooks("hook_pattern", std::move(pattern));
  at::Tensor z = at::matmul(pattern, vh).transpose(1, 2);  // [B, Tq, H, dh]
  return hooks("hook_z", std::move(z));
}

at::Tensor rotary_attention(at::Tensor q, at::Tensor k, at::Tensor v, const RotaryTables& rotary,
                            const at::Tensor& mask, const HookScope& hooks, double scale) {
  q = hooks("hook_q", std::move(q));
  k = hooks("hook_k", std::move(k));
  v = hooks("hook_v", std::move(v));
  q = hooks("hook_rot_q", apply_rotary(q, rotary));
  k = hooks("hook_rot_k", apply_rotary(k, rotary));
  return attend(q, k, v, mask, hooks, scale);
}

}  // namespace mechlens::layers
