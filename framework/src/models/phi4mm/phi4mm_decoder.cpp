#include "models/phi4mm/phi4mm_decoder.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"
#include "models/decoder_sizes.hpp"
#include "models/layers/activations.hpp"
#include "models/final_block_at.hpp"
#include "models/layers/attention.hpp"
#include "models/layers/causal_rows.hpp"
#include "models/layers/embedding.hpp"
#include "models/layers/hook_points.hpp"
#include "models/layers/rotary_attention.hpp"
#include "models/phi4mm/phi4mm_rope.hpp"

namespace mechlens::models::phi4mm {

Geometry Phi4mmDecoder::geometry() const { return causal_decoder_geometry(config_); }

std::vector<HookPoint> Phi4mmDecoder::hook_points() const { return layers::rotary_decoder_hooks(config_.num_layers); }

at::Tensor Phi4mmDecoder::embed_tokens(const at::Tensor& ids) const {
  return layers::checked_embedding(weights_.embed_tokens, ids, config_.vocab_size, "phi4mm");
}

at::Tensor Phi4mmDecoder::self_attention(const Phi4mmLayerWeights& w, const at::Tensor& x, const LoraRows& lora,
                                         const layers::RotaryTables& rotary, const at::Tensor& mask,
                                         const HookScope& scope) const {
  const std::int64_t heads = config_.num_heads, kv = config_.num_kv_heads, dh = config_.head_dim;
  const at::Tensor qkv = w.qkv_proj(w.input_layernorm(x), lora);
  // Sizes from the tensor at hand: a write hook may have changed the batch.
  const auto heads_of = [&](std::int64_t offset, std::int64_t n) {
    return qkv.narrow(-1, offset, n * dh).view({qkv.size(0), qkv.size(1), n, dh});
  };
  return layers::rotary_attention(heads_of(0, heads), heads_of(heads * dh, kv), heads_of((heads + kv) * dh, kv), rotary,
                                  mask, scope.sub("attn."));
}

at::Tensor Phi4mmDecoder::run_blocks(at::Tensor x, const at::Tensor& attention_mask, const LoraRows& lora, int first,
                                     int last, const HookSet* hooks) const {
  if (first < 0 || last > config_.num_layers || first > last)
    fail("phi4mm", "blocks [" + std::to_string(first) + ", " + std::to_string(last) + ") out of range");
  if (first == last) return x;
  const auto length = x.size(1);
  const at::Tensor mask = layers::make_attention_mask(attention_mask, length, length, true, x.device());
  // LongRoPE picks its factors by the length of this forward (the padded batch length).
  const layers::RotaryTables rotary = rope_tables(config_, length, x.scalar_type(), x.device());
  for (int l = first; l < last; ++l) {
    const Phi4mmLayerWeights& w = weights_.layers[l];
    const HookScope scope(hooks, "blocks." + std::to_string(l) + ".");
    x = scope("hook_resid_pre", std::move(x));
    const at::Tensor z = self_attention(w, x, lora, rotary, mask, scope);
    at::Tensor attn_out = w.o_proj(z.reshape({z.size(0), z.size(1), z.size(2) * z.size(3)}), lora);
    attn_out = scope("hook_attn_out", std::move(attn_out));
    x = x + attn_out;
    at::Tensor mlp_out = mlp(w, w.post_attention_layernorm(x), lora);
    mlp_out = scope("hook_mlp_out", std::move(mlp_out));
    x = x + mlp_out;
    x = scope("hook_resid_post", std::move(x));
  }
  return x;
}

at::Tensor Phi4mmDecoder::unembed_unnormalized(const at::Tensor& residual) const {
  return at::linear(residual, weights_.lm_head);
}

at::Tensor Phi4mmDecoder::run_blocks_at(at::Tensor x, const at::Tensor& attention_mask, const LoraRows& lora, int first,
                                        const at::Tensor& positions, const HookSet* hooks) const {
  const int last = config_.num_layers - 1;
  if (first < 0 || first > last)
    fail("phi4mm", "run_blocks_at: first block " + std::to_string(first) + " outside [0, " +
                       std::to_string(config_.num_layers) + ")");
  layers::check_positions(positions, x.size(1));
  const models::FinalBlockHooks where = models::final_block_hooks(hook_points(), last, hooks);
  if (where == models::FinalBlockHooks::past_attention)
    return gather_positions(run_blocks(std::move(x), attention_mask, lora, first, config_.num_layers, hooks), positions);

  x = run_blocks(std::move(x), attention_mask, lora, first, last, hooks);
  const Phi4mmLayerWeights& w = weights_.layers[last];
  const HookScope scope(hooks, "blocks." + std::to_string(last) + ".");
  x = scope("hook_resid_pre", std::move(x));
  const auto length = x.size(1);
  const std::int64_t heads = config_.num_heads, kv = config_.num_kv_heads, dh = config_.head_dim;
  const std::int64_t q_width = heads * dh, kv_width = kv * dh;
  const at::Tensor pos = positions.to(x.device(), at::kLong);
  // LongRoPE's factors by the length of the whole forward, as run_blocks.
  const layers::RotaryTables rotary = rope_tables(config_, length, x.scalar_type(), x.device());
  at::Tensor z;
  if (where == models::FinalBlockHooks::in_attention) {
    // Hooks see the attention at every position; the block narrows after
    // hook_z. (No W_O shortcut here: o_proj carries the per-row LoRA, so a
    // last-layer sweep projects all of its R x P rows.)
    const at::Tensor mask = layers::make_attention_mask(attention_mask, length, length, true, x.device());
    z = self_attention(w, x, lora, rotary, mask, scope).index_select(1, pos);
  } else {
    // The fused qkv_proj at every position (k and v need them); each query
    // rotated at its own position, its mask row key <= position.
    const at::Tensor qkv = w.qkv_proj(w.input_layernorm(x), lora);
    const auto heads_of = [&](const at::Tensor& t, std::int64_t offset, std::int64_t n) {
      return t.narrow(-1, offset, n * dh).view({t.size(0), t.size(1), n, dh});
    };
    const at::Tensor q =
        layers::apply_rotary(heads_of(qkv.index_select(1, pos), 0, heads), layers::rotary_at(rotary, pos));
    const at::Tensor k = layers::apply_rotary(heads_of(qkv, q_width, kv), rotary);
    const at::Tensor mask = layers::causal_mask_at(attention_mask, pos, length, x.device());
    z = layers::attend(q, k, heads_of(qkv, q_width + kv_width, kv), mask, scope.sub("attn."));
  }
  at::Tensor rows = x.index_select(1, pos);
  rows = rows + w.o_proj(z.reshape({z.size(0), z.size(1), q_width}), lora);
  return rows + mlp(w, w.post_attention_layernorm(rows), lora);
}

at::Tensor Phi4mmDecoder::mlp(const Phi4mmLayerWeights& w, const at::Tensor& x, const LoraRows& lora) const {
  const at::Tensor gate_up = w.gate_up_proj(x, lora);
  const auto ff = gate_up.size(-1) / 2;
  return w.down_proj(layers::activate(config_.hidden_act, gate_up.narrow(-1, 0, ff)) * gate_up.narrow(-1, ff, ff),
                     lora);
}

at::Tensor Phi4mmDecoder::unembed(const at::Tensor& residual, const HookSet* hooks) const {
  at::Tensor h = weights_.norm(residual);
  h = HookScope(hooks, "")("ln_final.hook_normalized", std::move(h));
  return at::linear(h, weights_.lm_head);
}

}  // namespace mechlens::models::phi4mm
