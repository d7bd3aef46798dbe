#include "models/layers/attention.hpp"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "mechlens/error.hpp"
#include "models/layers/head_products.hpp"

namespace mechlens::layers {

at::Tensor make_attention_mask(const at::Tensor& attention_mask, std::int64_t tq, std::int64_t tk,
                               bool causal, const at::Device& device) {
  at::Tensor mask;
  if (attention_mask.defined()) {
    if (attention_mask.size(-1) != tk)
      fail("attention", "padding mask has " + std::to_string(attention_mask.size(-1)) + " keys, expected " +
                            std::to_string(tk));
    mask = attention_mask.to(device, at::kBool).view({attention_mask.size(0), 1, 1, tk});
    // No padding: no mask to apply (saves two passes over the scores).
    if (mask.device().is_cpu() && mask.all().item<bool>()) mask = at::Tensor();
  }
  if (causal) {
    // Queries are the last tq of the tk positions (tq < tk when resuming with a cache).
    const auto q_pos = at::arange(tk - tq, tk, at::TensorOptions(device).dtype(at::kLong)).unsqueeze(1);
    const auto k_pos = at::arange(0, tk, at::TensorOptions(device).dtype(at::kLong)).unsqueeze(0);
    at::Tensor c = (k_pos <= q_pos).view({1, 1, tq, tk});
    mask = mask.defined() ? at::logical_and(mask, c) : c;
  }
  return mask;
}

double lowest_value(at::ScalarType dtype) {
  switch (dtype) {
    case at::kDouble: return std::numeric_limits<double>::lowest();
    case at::kFloat: return std::numeric_limits<float>::lowest();
    case at::kBFloat16: return -3.3895313892515355e38;  // torch.finfo(torch.bfloat16).min
    case at::kHalf: return -65504.0;
    default: fail("attention", std::string("no lowest value for dtype ") + c10::toString(dtype));
  }
}

at::Tensor attention(at::Tensor q, at::Tensor k, at::Tensor v, const at::Tensor& mask,
                     const HookScope& hooks, double scale, at::Tensor* unhooked_z) {
  q = hooks("hook_q", std::move(q));
  k = hooks("hook_k", std::move(k));
  v = hooks("hook_v", std::move(v));
  return attend(q, k, v, mask, hooks, scale, unhooked_z);
}

at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                  const HookScope& hooks, double scale, at::Tensor* unhooked_z) {
  const auto n_heads = q.size(2), n_kv = k.size(2), d_head = q.size(3);
  if (n_kv <= 0 || n_heads % n_kv != 0)
    fail("attention", std::to_string(n_heads) + " query heads cannot share " + std::to_string(n_kv) + " KV heads");
  if (scale <= 0.0) scale = 1.0 / std::sqrt(static_cast<double>(d_head));

  // HF eager attention: matmul(q, k^T) * scaling, then the mask.
  at::Tensor scores = head_scores(q, k, scale);  // [B, H, Tq, Tk]
  // Before any mask: the whole raw row, future keys included (AtMan shifts
  // each row by this row's minimum before it scales a key's column).
  scores = hooks("hook_attn_scores_unmasked", std::move(scores));
  at::Tensor allowed = mask;
  if (hooks.wants("hook_attn_mask")) {
    // Who may attend to whom, as a full boolean [B, H, Tq, Tk] (true = may):
    // a write hook that clears entries blocks those edges (attention
    // knockout), and everything below treats them exactly as masked keys:
    // zero weight, fully blocked rows all zero.
    if (mask.defined() && mask.scalar_type() != at::kBool)
      fail("attention", "hook_attn_mask needs a boolean mask, and this layer was given an additive one");
    const auto B = scores.size(0), H = scores.size(1), Tq = scores.size(2), Tk = scores.size(3);
    allowed = mask.defined() ? mask.expand({B, H, Tq, Tk})
                             : at::ones({1, 1, Tq, Tk}, scores.options().dtype(at::kBool)).expand({B, H, Tq, Tk});
    allowed = hooks("hook_attn_mask", allowed);
  }
  const bool boolean_mask = allowed.defined() && allowed.scalar_type() == at::kBool;
  const at::Tensor blocked = boolean_mask ? allowed.logical_not() : at::Tensor();
  if (boolean_mask) {
    // Blocked keys get the dtype's lowest value, as HF's (1 - mask) * finfo.min does.
    // In place unless a hook holds the unmasked scores, autograd records
    // them, or the mask is wider (a knockout hook may give a batch-1 forward
    // a mask of B rows).
    const bool in_place = !hooks.wants("hook_attn_scores_unmasked") && !scores.requires_grad() &&
                          at::infer_size(blocked.sizes(), scores.sizes()) == scores.sizes();
    const double lowest = lowest_value(scores.scalar_type());
    scores = in_place ? scores.masked_fill_(blocked, lowest) : scores.masked_fill(blocked, lowest);
  } else if (allowed.defined()) {
    scores = scores + allowed.to(scores.scalar_type());
  }
  scores = hooks("hook_attn_scores", std::move(scores));

  // softmax(dim=-1, dtype=float32).to(query dtype), as Qwen2/SigLIP eager attention.
  const auto dtype = scores.scalar_type();
  at::Tensor pattern = (dtype == at::kFloat || dtype == at::kDouble)
                           ? at::softmax(scores, -1)
                           : at::softmax(scores, -1, at::kFloat).to(dtype);
  // Blocked keys already have exactly zero weight (exp(lowest - max) is 0)
  // unless the whole row is blocked (softmax spreads such a row evenly; it
  // must be all zeros) or a hook rewrote the masked scores. Checked on the
  // CPU, where it costs no device sync.
  const bool zero_blocked = boolean_mask && (hooks.wants("hook_attn_scores") || !scores.device().is_cpu() ||
                                             !allowed.any(-1).all().item<bool>());
  if (zero_blocked) pattern = pattern.masked_fill(blocked, 0);
  pattern = hooks("hook_pattern", std::move(pattern));

  at::Tensor z = head_mix(pattern, v);  // [B, Tq, H, dh]
  if (unhooked_z) *unhooked_z = z;
  return hooks("hook_z", std::move(z));
}

}  // namespace mechlens::layers
