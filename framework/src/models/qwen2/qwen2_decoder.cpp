#include "models/qwen2/qwen2_decoder.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"
#include "models/decoder_sizes.hpp"
#include "models/layers/attention.hpp"
#include "models/layers/causal_pass.hpp"
#include "models/layers/causal_rows.hpp"
#include "models/layers/head_projection.hpp"
#include "models/layers/embedding.hpp"
#include "models/layers/hook_points.hpp"
#include "models/final_block_at.hpp"

namespace mechlens::models::qwen2 {
namespace {

// Layer l's attention over x [B, T, D] → z [B, T, H, dh] (its input norm,
// q/k/v, rotary and the hooks attn.* under `scope`; `unhooked_z` as attend's).
at::Tensor self_attention(const Qwen2Config& config, const Qwen2LayerWeights& w, int l, const at::Tensor& x,
                          const layers::CausalPass& pass, const layers::RotaryTables& rotary, const HookScope& scope,
                          at::Tensor* unhooked_z) {
  const at::Tensor h = w.input_layernorm(x);
  // Sizes from the tensor at hand: a write hook may have changed the batch.
  const auto split = [&](const at::Tensor& t, std::int64_t n) {
    return t.view({t.size(0), t.size(1), n, config.head_dim});
  };
  return pass.rotary_attention(l, split(w.q_proj(h), config.num_heads), split(w.k_proj(h), config.num_kv_heads),
                               split(w.v_proj(h), config.num_kv_heads), rotary, scope.sub("attn."), 0.0, unhooked_z);
}

}  // namespace

Qwen2Decoder Qwen2Decoder::load(const checkpoint::Checkpoint& ckpt, const checkpoint::Config& text_config,
                                const at::TensorOptions& options, const Qwen2Names& names) {
  Qwen2Config config = Qwen2Config::from(text_config);
  Qwen2Weights weights = load_qwen2_weights(ckpt, config, options, names);
  return Qwen2Decoder(std::move(config), std::move(weights));
}

Geometry Qwen2Decoder::geometry() const { return causal_decoder_geometry(config_); }

std::vector<HookPoint> Qwen2Decoder::hook_points() const { return layers::rotary_decoder_hooks(config_.num_layers); }

at::Tensor Qwen2Decoder::embed_tokens(const at::Tensor& ids) const {
  return layers::checked_embedding(weights_.embed_tokens, ids, config_.vocab_size, "qwen2");
}

at::Tensor Qwen2Decoder::run_blocks(at::Tensor x, const at::Tensor& attention_mask, int first, int last,
                                    const HookSet* hooks, const PrefixReuse* reuse) const {
  if (first < 0 || last > config_.num_layers || first > last)
    fail("qwen2", "blocks [" + std::to_string(first) + ", " + std::to_string(last) + ") out of range");
  if (first == last) return x;
  // Causal + padding (with right padding a real query never sees a pad key),
  // over the positions this call runs (all of them unless a prefix is reused).
  const layers::CausalPass pass(attention_mask, x.size(1), reuse, x.device());
  const layers::RotaryTables rotary =
      layers::rotary_tables(pass.total_length(), config_.head_dim, config_.rope_theta, x.scalar_type(), x.device());
  for (int l = first; l < last; ++l) {
    const Qwen2LayerWeights& w = weights_.layers[l];
    const HookScope scope(hooks, "blocks." + std::to_string(l) + ".");
    x = scope("hook_resid_pre", std::move(x));
    at::Tensor unhooked_z;
    const at::Tensor z = self_attention(config_, w, l, x, pass, rotary, scope, &unhooked_z);
    at::Tensor attn_out = layers::project_heads(w.o_proj, z, unhooked_z);
    attn_out = scope("hook_attn_out", std::move(attn_out));
    x = x + attn_out;
    at::Tensor mlp_out = w.mlp(w.post_attention_layernorm(x));
    mlp_out = scope("hook_mlp_out", std::move(mlp_out));
    x = x + mlp_out;
    x = scope("hook_resid_post", std::move(x));
  }
  return x;
}

at::Tensor Qwen2Decoder::run_blocks_at(at::Tensor x, const at::Tensor& attention_mask, int first,
                                       const at::Tensor& positions, const HookSet* hooks) const {
  const int last = config_.num_layers - 1;
  if (first < 0 || first > last)
    fail("qwen2", "run_blocks_at: first block " + std::to_string(first) + " outside [0, " +
                      std::to_string(config_.num_layers) + ")");
  layers::check_positions(positions, x.size(1));
  const FinalBlockHooks where = final_block_hooks(hook_points(), last, hooks);
  if (where == FinalBlockHooks::past_attention)
    return gather_positions(run_blocks(std::move(x), attention_mask, first, config_.num_layers, hooks), positions);

  x = run_blocks(std::move(x), attention_mask, first, last, hooks);
  const Qwen2LayerWeights& w = weights_.layers[last];
  const HookScope scope(hooks, "blocks." + std::to_string(last) + ".");
  x = scope("hook_resid_pre", std::move(x));
  const std::int64_t length = x.size(1);
  const at::Tensor pos = positions.to(x.device(), at::kLong);
  const layers::RotaryTables rotary =
      layers::rotary_tables(length, config_.head_dim, config_.rope_theta, x.scalar_type(), x.device());
  at::Tensor rows = x.index_select(1, pos);
  if (where == FinalBlockHooks::in_attention) {
    // Hooks see the attention at every position; the block narrows after hook_z.
    const layers::CausalPass pass(attention_mask, length, nullptr, x.device());
    at::Tensor unhooked_z;
    const at::Tensor z = self_attention(config_, w, last, x, pass, rotary, scope, &unhooked_z);
    rows = rows + layers::project_heads_at(w.o_proj, z, unhooked_z, pos);
  } else {
    const auto heads = config_.num_heads, kv = config_.num_kv_heads, d_head = config_.head_dim;
    // The norm is per row: normalise every position once (keys and values
    // need them all) and take the query rows from it.
    const at::Tensor h = w.input_layernorm(x);
    const at::Tensor h_rows = h.index_select(1, pos);  // [B, P, D]
    const auto split = [](const at::Tensor& t, std::int64_t n, std::int64_t d) {
      return t.view({t.size(0), t.size(1), n, d});
    };
    // Rotary: keys at every position, each query at its own position; mask
    // rows: key <= that position, real keys only (what the full forward's
    // row of that query holds).
    const at::Tensor q = layers::apply_rotary(split(w.q_proj(h_rows), heads, d_head), layers::rotary_at(rotary, pos));
    const at::Tensor k = layers::apply_rotary(split(w.k_proj(h), kv, d_head), rotary);
    const at::Tensor v = split(w.v_proj(h), kv, d_head);
    const at::Tensor mask = layers::causal_mask_at(attention_mask, pos, length, x.device());
    const at::Tensor z = layers::attend(q, k, v, mask, scope.sub("attn."));
    rows = rows + w.o_proj(z.reshape({z.size(0), z.size(1), heads * d_head}));
  }
  return rows + w.mlp(w.post_attention_layernorm(rows));
}

at::Tensor Qwen2Decoder::unembed_unnormalized(const at::Tensor& residual) const { return weights_.lm_head(residual); }

at::Tensor Qwen2Decoder::unembed(const at::Tensor& residual, const HookSet* hooks) const {
  at::Tensor h = weights_.norm(residual);
  h = HookScope(hooks, "")("ln_final.hook_normalized", std::move(h));
  return weights_.lm_head(h);
}

}  // namespace mechlens::models::qwen2
