#include "models/qwen2/qwen2_weights.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"

namespace mechlens::models::qwen2 {
namespace {

// modeling_qwen2.py: Qwen2Model, Qwen2DecoderLayer, Qwen2Attention (q/k/v bias=True, o_proj bias=False), Qwen2MLP.
// Keys relative to the prefix; "{i}" = layer index.
constexpr const char* kEmbed = "embed_tokens.weight";
constexpr const char* kInputNorm = "layers.{i}.input_layernorm.weight";
constexpr const char* kQ = "layers.{i}.self_attn.q_proj.";
constexpr const char* kK = "layers.{i}.self_attn.k_proj.";
constexpr const char* kV = "layers.{i}.self_attn.v_proj.";
constexpr const char* kO = "layers.{i}.self_attn.o_proj.weight";
constexpr const char* kPostNorm = "layers.{i}.post_attention_layernorm.weight";
constexpr const char* kGate = "layers.{i}.mlp.gate_proj.weight";
constexpr const char* kUp = "layers.{i}.mlp.up_proj.weight";
constexpr const char* kDown = "layers.{i}.mlp.down_proj.weight";
constexpr const char* kNorm = "norm.weight";

}  // namespace

checkpoint::TensorTable qwen2_tensor_table(const Qwen2Config& config, const Qwen2Names& names) {
  const std::int64_t V = config.vocab_size, D = config.hidden_size, F = config.intermediate_size;
  const std::int64_t Q = std::int64_t(config.num_heads) * config.head_dim;
  const std::int64_t KV = std::int64_t(config.num_kv_heads) * config.head_dim;
  const int L = config.num_layers;
  const std::string& p = names.prefix;
  checkpoint::TensorTable t("qwen2");
  t.add(p + kEmbed, {V, D});
  t.add(p + kInputNorm, {D}).layers(L);
  t.add(p + kQ + "weight", {Q, D}).layers(L);
  t.add(p + kQ + "bias", {Q}).layers(L);
  t.add(p + kK + "weight", {KV, D}).layers(L);
  t.add(p + kK + "bias", {KV}).layers(L);
  t.add(p + kV + "weight", {KV, D}).layers(L);
  t.add(p + kV + "bias", {KV}).layers(L);
  t.add(p + kO, {D, Q}).layers(L);
  t.add(p + kPostNorm, {D}).layers(L);
  t.add(p + kGate, {F, D}).layers(L);
  t.add(p + kUp, {F, D}).layers(L);
  t.add(p + kDown, {D, F}).layers(L);
  t.add(p + kNorm, {D});
  if (!names.lm_head_names.empty()) {
    auto& head = t.add(names.lm_head_names.front(), {V, D}).optional();
    for (std::size_t i = 1; i < names.lm_head_names.size(); ++i) head.or_named(names.lm_head_names[i]);
  }
  return t;
}

Qwen2Weights load_qwen2_weights(const checkpoint::TensorSet& t, const Qwen2Config& config,
                                const at::TensorOptions& options, const Qwen2Names& names) {
  const std::string& p = names.prefix;
  const auto at_layer = [&](const std::string& key, int i) { return t.load(p + key, options, i); };
  Qwen2Weights w;
  w.embed_tokens = t.load(p + kEmbed, options);
  for (int i = 0; i < config.num_layers; ++i) {
    Qwen2LayerWeights layer;
    layer.input_layernorm = {at_layer(kInputNorm, i), config.rms_norm_eps};
    layer.q_proj = {at_layer(std::string(kQ) + "weight", i), at_layer(std::string(kQ) + "bias", i)};
    layer.k_proj = {at_layer(std::string(kK) + "weight", i), at_layer(std::string(kK) + "bias", i)};
    layer.v_proj = {at_layer(std::string(kV) + "weight", i), at_layer(std::string(kV) + "bias", i)};
    layer.o_proj = {at_layer(kO, i), at::Tensor()};
    layer.post_attention_layernorm = {at_layer(kPostNorm, i), config.rms_norm_eps};
    layer.mlp.gate = {at_layer(kGate, i), at::Tensor()};
    layer.mlp.up = {at_layer(kUp, i), at::Tensor()};
    layer.mlp.down = {at_layer(kDown, i), at::Tensor()};
    layer.mlp.act = config.hidden_act;
    w.layers.push_back(std::move(layer));
  }
  w.norm = {t.load(p + kNorm, options), config.rms_norm_eps};

  const bool head = !names.lm_head_names.empty() && t.has(names.lm_head_names.front());
  w.tied = config.tie_word_embeddings || !head;
  if (w.tied) {
    w.lm_head.weight = w.embed_tokens;
    // Mark a stored copy as used: tie_weights() overwrites it with embed_tokens.
    if (head) t.load(names.lm_head_names.front(), at::TensorOptions());
  } else {
    w.lm_head.weight = t.load(names.lm_head_names.front(), options);
  }
  return w;
}

Qwen2Weights load_qwen2_weights(const checkpoint::Checkpoint& ckpt, const Qwen2Config& config,
                                const at::TensorOptions& options, const Qwen2Names& names) {
  return load_qwen2_weights(qwen2_tensor_table(config, names).resolve(ckpt, checkpoint::Extras::allow), config,
                            options, names);
}

}  // namespace mechlens::models::qwen2
