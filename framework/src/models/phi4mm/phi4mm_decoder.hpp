#pragma once
// The Phi-4-mini decoder of Phi-4-multimodal (Phi4MMModel's layers in
// modeling_phi4mm.py; Phi4MultimodalModel in transformers):
//
// Block l (pre-norm):
//   h = input_layernorm(x)                 RMSNorm, statistics in float32
//   qkv = qkv_proj(h) (+ vision LoRA)      fused, no bias: rows [q: H*dh | k: KV*dh | v: KV*dh]
//   partial rotary on q, k                 the first rotary_dim (96 of 128) dims, LongRoPE
//   z = softmax(q k^T / sqrt(dh) + causal & padding mask) v      GQA: head h reads KV head h / (H/KV)
//   x = x + o_proj(z) (+ LoRA)
//   g, u = gate_up_proj(post_attention_layernorm(x)) (+ LoRA)   gate rows first
//   x = x + down_proj(silu(g) * u) (+ LoRA)
// then the final norm and lm_head tied to embed_tokens.
//
// Hook points are Qwen2's (qwen2_decoder.hpp): blocks.L.hook_resid_pre,
// attn.hook_q/k/v (q, k before rotary, split from the fused projection),
// attn.hook_rot_q/k, scores, pattern, hook_z, hook_attn_out, hook_mlp_out,
// hook_resid_post, ln_final.hook_normalized — with the same axes. With the
// vision LoRA on, every hook sees the base + low-rank sum.
#include <ATen/core/Tensor.h>

#include <vector>

#include "checkpoint/tensor_table.hpp"
#include "mechlens/hooks.hpp"
#include "mechlens/model.hpp"
#include "models/layers/rotary.hpp"
#include "models/phi4mm/phi4mm_config.hpp"
#include "models/phi4mm/phi4mm_weights.hpp"

namespace mechlens::models::phi4mm {

class Phi4mmDecoder {
 public:
  Phi4mmDecoder() = default;
  Phi4mmDecoder(Phi4mmConfig config, Phi4mmWeights weights) : config_(std::move(config)), weights_(std::move(weights)) {}

  const Phi4mmConfig& config() const { return config_; }
  const Phi4mmWeights& weights() const { return weights_; }
  Geometry geometry() const;
  std::vector<HookPoint> hook_points() const;

  at::Tensor embed_tokens(const at::Tensor& ids) const;  // [B, T] → [B, T, D], ids range-checked
  // Blocks [first, last); `attention_mask` [B, T] bool or undefined; `lora`
  // says which rows run with the vision LoRA.
  at::Tensor run_blocks(at::Tensor x, const at::Tensor& attention_mask, const LoraRows& lora, int first, int last,
                        const HookSet* hooks) const;
  // Blocks [first, n_layers) with the final block's queries, attention
  // output, FFN and norms at `positions` only ([P] int64, the same for every
  // row), its keys and values from every position → [B, P, D]
  // (models::FinalBlockAtPositions). The fused qkv_proj runs at every
  // position (k and v need them; q is taken at the rows). Hooks in the
  // final block's attention see it at every position (then the block
  // narrows after hook_z); with hooks past it, every position runs and the
  // rows are gathered.
  at::Tensor run_blocks_at(at::Tensor x, const at::Tensor& attention_mask, const LoraRows& lora, int first,
                           const at::Tensor& positions, const HookSet* hooks) const;
  at::Tensor unembed(const at::Tensor& residual, const HookSet* hooks) const;
  at::Tensor unembed_unnormalized(const at::Tensor& residual) const;

 private:
  // Layer w's attention over x [B, T, D] → z [B, T, H, dh] (input norm,
  // fused qkv_proj, rotary; hooks attn.* under `scope`).
  at::Tensor self_attention(const Phi4mmLayerWeights& w, const at::Tensor& x, const LoraRows& lora,
                            const layers::RotaryTables& rotary, const at::Tensor& mask, const HookScope& scope) const;
  // The gated FFN (gate_up_proj fused, gate first) of layer weights `w`.
  at::Tensor mlp(const Phi4mmLayerWeights& w, const at::Tensor& x, const LoraRows& lora) const;

  Phi4mmConfig config_;
  Phi4mmWeights weights_;
};

}  // namespace mechlens::models::phi4mm
