#include "models/bert/bert_model.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"
#include "models/layers/attention.hpp"
#include "models/layers/causal_rows.hpp"
#include "models/layers/head_projection.hpp"
#include "models/layers/hook_points.hpp"

namespace mechlens::models::bert {

Geometry BertModel::geometry() const {
  Geometry g;
  g.n_layers = config_.num_layers;
  g.n_heads = config_.num_heads;
  g.n_kv_heads = config_.num_heads;
  g.d_head = config_.head_dim();
  g.d_model = config_.hidden_size;
  g.vocab_size = config_.vocab_size;
  g.causal = false;
  return g;
}

std::vector<HookPoint> BertModel::hook_points() const {
  std::vector<HookPoint> points = {layers::residual_hook("hook_embed")};
  for (int l = 0; l < config_.num_layers; ++l)
    layers::append_block_hooks(points, "blocks." + std::to_string(l) + ".", /*rotary=*/false);
  if (has_lm_head()) points.push_back(layers::residual_hook("ln_final.hook_normalized"));
  return points;
}

at::Tensor BertModel::embed(const Batch& batch, const HookSet* hooks) const {
  const at::Tensor ids = batch.ids.to(options_.device(), at::kLong);
  const auto length = ids.size(1);
  if (length > config_.max_positions)
    fail(ckpt_->directory(), "input of " + std::to_string(length) + " tokens exceeds max_position_embeddings " +
                                 std::to_string(config_.max_positions));
  if (ids.numel() > 0 && (ids.min().item<std::int64_t>() < 0 || ids.max().item<std::int64_t>() >= config_.vocab_size))
    fail(ckpt_->directory(), "token id outside the vocabulary of " + std::to_string(config_.vocab_size));
  // Position ids 0..T-1 and token type 0 for every token (a single segment).
  at::Tensor x = at::embedding(weights_.word_embeddings, ids) +
                 weights_.position_embeddings.narrow(0, 0, length) + weights_.token_type_embeddings[0];
  x = weights_.embeddings_ln(x);
  return HookScope(hooks, "")("hook_embed", std::move(x));
}

at::Tensor BertModel::head_view(const at::Tensor& t) const {
  return t.view({t.size(0), t.size(1), config_.num_heads, config_.head_dim()});
}

at::Tensor BertModel::self_attention(const BertLayerWeights& w, const at::Tensor& x, const at::Tensor& mask,
                                     const HookScope& scope, at::Tensor* unhooked_z) const {
  // q, k, v from one GEMM, each a view of its columns; sizes come from the
  // tensor at hand (a write hook may have changed the batch).
  const auto width = config_.num_heads * config_.head_dim();
  const at::Tensor qkv = w.qkv(x);
  const auto part = [&](int i) { return head_view(qkv.narrow(-1, i * width, width)); };
  return layers::attention(part(0), part(1), part(2), mask, scope.sub("attn."), 0.0, unhooked_z);
}

at::Tensor BertModel::run_blocks(at::Tensor x, const Batch& batch, int first, int last,
                                 const HookSet* hooks) const {
  if (first < 0 || last > config_.num_layers || first > last)
    fail("bert", "blocks [" + std::to_string(first) + ", " + std::to_string(last) + ") out of range");
  const at::Tensor mask = layers::make_attention_mask(batch.attention_mask, x.size(1), x.size(1), false, x.device());
  for (int l = first; l < last; ++l) {
    const BertLayerWeights& w = weights_.layers[l];
    const HookScope scope(hooks, "blocks." + std::to_string(l) + ".");
    x = scope("hook_resid_pre", std::move(x));
    at::Tensor unhooked_z;
    const at::Tensor z = self_attention(w, x, mask, scope, &unhooked_z);
    at::Tensor attn_out = layers::project_heads(w.attn_out, z, unhooked_z);
    attn_out = scope("hook_attn_out", std::move(attn_out));
    x = w.attn_ln(x + attn_out);
    at::Tensor mlp_out = w.output(layers::activate(config_.hidden_act, w.intermediate(x)));
    mlp_out = scope("hook_mlp_out", std::move(mlp_out));
    x = w.output_ln(x + mlp_out);
    x = scope("hook_resid_post", std::move(x));
  }
  return x;
}

at::Tensor BertModel::run_blocks_at(at::Tensor x, const Batch& batch, int first, const at::Tensor& positions,
                                   const HookSet* hooks) const {
  const int last = config_.num_layers - 1;
  layers::check_positions(positions, x.size(1));
  const FinalBlockHooks where = final_block_hooks(hook_points(), last, hooks);
  if (first > last || where == FinalBlockHooks::past_attention)
    return gather_positions(run_blocks(std::move(x), batch, first, config_.num_layers, hooks), positions);

  x = run_blocks(std::move(x), batch, first, last, hooks);
  const BertLayerWeights& w = weights_.layers[last];
  const HookScope scope(hooks, "blocks." + std::to_string(last) + ".");
  x = scope("hook_resid_pre", std::move(x));
  const at::Tensor pos = positions.to(x.device(), at::kLong);
  const at::Tensor rows = x.index_select(1, pos);  // [B, P, D]
  at::Tensor attn_out;
  if (where == FinalBlockHooks::in_attention) {
    // Hooks see the attention at every position; the block narrows after hook_z.
    const at::Tensor mask = layers::make_attention_mask(batch.attention_mask, x.size(1), x.size(1), false, x.device());
    at::Tensor unhooked_z;
    const at::Tensor z = self_attention(w, x, mask, scope, &unhooked_z);
    attn_out = layers::project_heads_at(w.attn_out, z, unhooked_z, pos);
  } else {
    // Keys and values from every position; everything else at the rows asked for.
    const auto D = config_.num_heads * config_.head_dim();
    const at::Tensor kv = w.qkv.rows(D, 2 * D)(x);  // keys and values: one GEMM
    const at::Tensor mask =
        layers::make_attention_mask(batch.attention_mask, rows.size(1), x.size(1), false, x.device());
    const at::Tensor z = layers::attention(head_view(w.qkv.rows(0, D)(rows)), head_view(kv.narrow(-1, 0, D)),
                                           head_view(kv.narrow(-1, D, D)), mask, scope.sub("attn."));
    attn_out = w.attn_out(z.reshape({z.size(0), z.size(1), D}));
  }
  const at::Tensor h = w.attn_ln(rows + attn_out);
  return w.output_ln(h + w.output(layers::activate(config_.hidden_act, w.intermediate(h))));
}

at::Tensor BertModel::unembed(const at::Tensor& residual, const HookSet* hooks) const {
  if (!has_lm_head())
    fail(ckpt_->directory(), "no MLM head (cls.predictions.*): this is a bare BertModel encoder, it has no logits");
  // BertPredictionHeadTransform: dense, hidden_act, LayerNorm; then the decoder.
  at::Tensor h = weights_.transform_ln(layers::activate(config_.hidden_act, weights_.transform(residual)));
  h = HookScope(hooks, "")("ln_final.hook_normalized", std::move(h));
  return weights_.decoder(h);
}

at::Tensor BertModel::unembed_unnormalized(const at::Tensor& residual) const {
  if (!has_lm_head())
    fail(ckpt_->directory(), "no MLM head (cls.predictions.*): this is a bare BertModel encoder, it has no logits");
  return weights_.decoder(residual);
}

}  // namespace mechlens::models::bert
