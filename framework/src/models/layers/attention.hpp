#pragma once
// Scaled dot-product attention written out (matmul + softmax), so that every
// intermediate is a hook point: hook_q, hook_k, hook_v, then
//   hook_attn_scores_unmasked  scaled q.k before any mask (AtMan edits here)
//   hook_attn_mask             [B, H, Tq, Tk] bool, true = may attend; fired
//                              only when listened to (attention knockout)
//   hook_attn_scores           after the mask
//   hook_pattern, hook_z
// named under the HookScope the caller passes ("blocks.3.attn.").
// Shared by every adapter (BERT, Qwen2, Phi-4, SigLIP).
//
// Every operation broadcasts over the batch dimension: a write hook may turn
// a batch of 1 into a batch of B anywhere, and what follows runs at batch B
// with masks of batch 1.
#include <ATen/core/Tensor.h>

#include "mechlens/hooks.hpp"

namespace mechlens::layers {

// Boolean mask broadcastable to [B, H, Tq, Tk], true = the query may attend
// to the key. `attention_mask` is the batch's [B, Tk] padding mask (true =
// real token; undefined = no padding); `causal` adds key <= query, with the
// queries being the last `tq` positions of the keys. Undefined when nothing
// is blocked (no causal mask and no padding).
at::Tensor make_attention_mask(const at::Tensor& attention_mask, std::int64_t tq, std::int64_t tk,
                               bool causal, const at::Device& device);

// The most negative finite value of `dtype`: blocked scores get it, so a
// score hook that scales them cannot produce NaN (lowest * 0 = 0).
double lowest_value(at::ScalarType dtype);

// q [B, Tq, H, dh]; k, v [B, Tk, KV, dh] with H a multiple of KV (query head
// h reads KV head h / (H / KV), as Hugging Face's repeat_kv). `mask` is a
// boolean mask from make_attention_mask or an additive float mask (or
// undefined). Scores are scaled by `scale` (1/sqrt(dh) when <= 0). Softmax
// runs in float32 for low-precision inputs (as Qwen2's eager attention) and
// blocked keys get exactly 0 probability, fully blocked rows all 0.
// Returns z [B, Tq, H, dh] (after hook_z), contiguous on the fast path
// (layers/head_products.hpp: no copies of q, k, v or z, no repeat_kv).
// `unhooked_z`, when given, receives z as it was before hook_z, for the
// output projection to see which heads a hook changed (head_projection.hpp).
at::Tensor attention(at::Tensor q, at::Tensor k, at::Tensor v, const at::Tensor& mask,
                     const HookScope& hooks, double scale = 0.0, at::Tensor* unhooked_z = nullptr);

// The part after the q/k/v hooks, shared by attention() and the rotary
// attention: q [B, Tq, H, dh], k/v [B, Tk, KV, dh] (already through their
// hooks) → z [B, Tq, H, dh], firing hook_attn_scores, hook_pattern, hook_z.
at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                  const HookScope& hooks, double scale = 0.0, at::Tensor* unhooked_z = nullptr);

}  // namespace mechlens::layers
