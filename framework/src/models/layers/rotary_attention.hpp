#pragma once
// Attention for rotary decoders (Qwen2, Phi-3/4): the hook points follow
// TransformerLens' rotary convention —
//   hook_q [B, T, H, dh] and hook_k [B, T, KV, dh]: projections BEFORE rotary
//   hook_rot_q / hook_rot_k: the same AFTER rotary (what the scores use)
//   hook_v [B, T, KV, dh]; hook_attn_scores, hook_pattern [B, H, Tq, Tk];
//   hook_z [B, T, H, dh]
// k and v stay at KV-head granularity (grouped-query attention); query head h
// reads KV head h / (H / KV), as transformers' repeat_kv.
// The rotary step sits between hook_q/hook_k and the scores; what follows is
// layers::attend, shared with the plain attention.
#include <ATen/core/Tensor.h>

#include "mechlens/hooks.hpp"
#include "models/layers/attention.hpp"
#include "models/layers/rotary.hpp"

namespace mechlens::layers {

// The full rotary attention core: hooks on q/k/v, rotary, hooks on the
// rotated q/k, then attend(). `mask` as make_attention_mask returns.
at::Tensor rotary_attention(at::Tensor q, at::Tensor k, at::Tensor v, const RotaryTables& rotary,
                            const at::Tensor& mask, const HookScope& hooks, double scale = 0.0);

}  // namespace mechlens::layers
