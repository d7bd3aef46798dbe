#pragma once
// The Qwen2 decoder (Qwen2ForCausalLM's forward, modeling_qwen2.py) as shared
// pieces: the "qwen2" adapter, the llava_onevision adapter (its language
// model) and later Phi-4 compose it.
//
// Block l (pre-norm):
//   h = input_layernorm(x)          RMSNorm, statistics in float32
//   q, k, v = q/k/v_proj(h)         with bias; k/v at KV-head granularity (GQA)
//   rotary on q, k                  rotate-half on the full head dim, theta from config, positions 0..T-1
//   z = softmax(q k^T / sqrt(dh) + causal & padding mask) v
//   x = x + o_proj(z)               (no bias)
//   x = x + down(silu(gate(post_attention_layernorm(x))) * up(...))
// then the final norm and lm_head (tied to embed_tokens per config).
//
// Hook points (TransformerLens names):
//   blocks.L.hook_resid_pre               [B, T, D]
//   blocks.L.attn.hook_q                  [B, T, H, dh]  BEFORE rotary (TransformerLens' convention)
//   blocks.L.attn.hook_k / hook_v         [B, T, KV, dh] (k before rotary)
//   blocks.L.attn.hook_rot_q / hook_rot_k the same AFTER rotary, what the scores use
//   blocks.L.attn.hook_attn_scores        [B, H, T, T] scaled, blocked keys at the dtype's lowest value
//   blocks.L.attn.hook_pattern            [B, H, T, T]
//   blocks.L.attn.hook_z                  [B, T, H, dh] per-head output before o_proj
//   blocks.L.hook_attn_out / hook_mlp_out [B, T, D] before the residual add
//   blocks.L.hook_resid_post              [B, T, D]
//   ln_final.hook_normalized              [..., D] the final RMSNorm's output
// Every step broadcasts over the batch dimension (a write hook may turn a
// batch of 1 into B; masks of batch 1 or B both work).
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "mechlens/hooks.hpp"
#include "mechlens/model.hpp"
#include "models/qwen2/qwen2_config.hpp"
#include "models/qwen2/qwen2_weights.hpp"

namespace mechlens::models::qwen2 {

class Qwen2Decoder {
 public:
  Qwen2Decoder() = default;
  Qwen2Decoder(Qwen2Config config, Qwen2Weights weights) : config_(std::move(config)), weights_(std::move(weights)) {}
  static Qwen2Decoder load(const checkpoint::Checkpoint& ckpt, const checkpoint::Config& text_config,
                           const at::TensorOptions& options, const Qwen2Names& names);

  const Qwen2Config& config() const { return config_; }
  const Qwen2Weights& weights() const { return weights_; }
  Geometry geometry() const;
  // blocks.L.* and ln_final.hook_normalized (not hook_embed: the adapter fires that).
  std::vector<HookPoint> hook_points() const;

  // embed_tokens rows for ids [B, T] (range-checked) → [B, T, D].
  at::Tensor embed_tokens(const at::Tensor& ids) const;
  // Blocks [first, last). `attention_mask` [B, T] bool (true = real token) or undefined.
  // `reuse` (optional): run positions [reuse->start, T) only, x being
  // [B, T - start, D] (layers::CausalPass, Model::run_blocks_reusing).
  at::Tensor run_blocks(at::Tensor x, const at::Tensor& attention_mask, int first, int last, const HookSet* hooks,
                        const PrefixReuse* reuse = nullptr) const;
  // Blocks [first, n_layers) with the final block's queries, attention
  // output, FFN and norms at `positions` only ([P] int64, any positions,
  // the same for every row); its keys and values from every position →
  // [B, P, D] (models::FinalBlockAtPositions, which both adapters forward
  // to). Hooks in the final block's attention see it at every position
  // (then the block narrows after hook_z); with hooks past it, every
  // position runs and the rows are gathered. No prefix reuse.
  at::Tensor run_blocks_at(at::Tensor x, const at::Tensor& attention_mask, int first, const at::Tensor& positions,
                           const HookSet* hooks) const;
  // Final norm (ln_final.hook_normalized) and LM head.
  // lm_head alone, no final norm (the logit lens' raw reading).
  at::Tensor unembed_unnormalized(const at::Tensor& residual) const;
  at::Tensor unembed(const at::Tensor& residual, const HookSet* hooks) const;

 private:
  Qwen2Config config_;
  Qwen2Weights weights_;
};

}  // namespace mechlens::models::qwen2
