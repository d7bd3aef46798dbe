#include "models/qwen2/qwen2_weights.hpp"

#include <ATen/ATen.h>

#include <array>

#include "mechlens/error.hpp"

namespace mechlens::models::qwen2 {
namespace {

enum class T {
  embed_tokens, input_layernorm, q_weight, q_bias, k_weight, k_bias, v_weight, v_bias, o_weight,
  post_attention_layernorm, gate_proj, up_proj, down_proj, norm,
};
enum class Dim { vocab, model, q, kv, ff };

struct Spec {
  T tensor;
  const char* name;  // relative to the prefix; "{}" = layer index
  std::array<Dim, 2> shape;
  int rank;
};

// modeling_qwen2.py: Qwen2Model, Qwen2DecoderLayer, Qwen2Attention (q/k/v bias=True, o_proj bias=False), Qwen2MLP.
constexpr Spec kSpecs[] = {
    {T::embed_tokens, "embed_tokens.weight", {Dim::vocab, Dim::model}, 2},
    {T::input_layernorm, "layers.{}.input_layernorm.weight", {Dim::model}, 1},
    {T::q_weight, "layers.{}.self_attn.q_proj.weight", {Dim::q, Dim::model}, 2},
    {T::q_bias, "layers.{}.self_attn.q_proj.bias", {Dim::q}, 1},
    {T::k_weight, "layers.{}.self_attn.k_proj.weight", {Dim::kv, Dim::model}, 2},
    {T::k_bias, "layers.{}.self_attn.k_proj.bias", {Dim::kv}, 1},
    {T::v_weight, "layers.{}.self_attn.v_proj.weight", {Dim::kv, Dim::model}, 2},
    {T::v_bias, "layers.{}.self_attn.v_proj.bias", {Dim::kv}, 1},
    {T::o_weight, "layers.{}.self_attn.o_proj.weight", {Dim::model, Dim::q}, 2},
    {T::post_attention_layernorm, "layers.{}.post_attention_layernorm.weight", {Dim::model}, 1},
    {T::gate_proj, "layers.{}.mlp.gate_proj.weight", {Dim::ff, Dim::model}, 2},
    {T::up_proj, "layers.{}.mlp.up_proj.weight", {Dim::ff, Dim::model}, 2},
    {T::down_proj, "layers.{}.mlp.down_proj.weight", {Dim::model, Dim::ff}, 2},
    {T::norm, "norm.weight", {Dim::model}, 1},
};

class Loader {
 public:
  Loader(const checkpoint::Checkpoint& ckpt, const Qwen2Config& config, const at::TensorOptions& options,
         std::string prefix)
      : ckpt_(ckpt), config_(config), options_(options), prefix_(std::move(prefix)) {}

  at::Tensor load(T tensor, int layer = -1) const {
    const Spec* s = nullptr;
    for (const auto& candidate : kSpecs)
      if (candidate.tensor == tensor) s = &candidate;
    std::string name = prefix_ + s->name;
    if (const auto at = name.find("{}"); at != std::string::npos) name.replace(at, 2, std::to_string(layer));
    std::vector<std::int64_t> shape;
    for (int i = 0; i < s->rank; ++i) shape.push_back(size(s->shape[i]));
    return ckpt_.load(name, shape, options_);  // missing / wrong shape: error naming tensor and file
  }

 private:
  std::int64_t size(Dim d) const {
    switch (d) {
      case Dim::vocab: return config_.vocab_size;
      case Dim::model: return config_.hidden_size;
      case Dim::q: return std::int64_t(config_.num_heads) * config_.head_dim;
      case Dim::kv: return std::int64_t(config_.num_kv_heads) * config_.head_dim;
      case Dim::ff: return config_.intermediate_size;
    }
    return 0;
  }
  const checkpoint::Checkpoint& ckpt_;
  const Qwen2Config& config_;
  at::TensorOptions options_;
  std::string prefix_;
};

}  // namespace

Qwen2Weights load_qwen2_weights(const checkpoint::Checkpoint& ckpt, const Qwen2Config& config,
                                const at::TensorOptions& options, const Qwen2Names& names) {
  const Loader l(ckpt, config, options, names.prefix);
  Qwen2Weights w;
  w.embed_tokens = l.load(T::embed_tokens);
  for (int i = 0; i < config.num_layers; ++i) {
    Qwen2LayerWeights layer;
    layer.input_layernorm = {l.load(T::input_layernorm, i), config.rms_norm_eps};
    layer.q_proj = {l.load(T::q_weight, i), l.load(T::q_bias, i)};
    layer.k_proj = {l.load(T::k_weight, i), l.load(T::k_bias, i)};
    layer.v_proj = {l.load(T::v_weight, i), l.load(T::v_bias, i)};
    layer.o_proj = {l.load(T::o_weight, i), at::Tensor()};
    layer.post_attention_layernorm = {l.load(T::post_attention_layernorm, i), config.rms_norm_eps};
    layer.mlp.gate = {l.load(T::gate_proj, i), at::Tensor()};
    layer.mlp.up = {l.load(T::up_proj, i), at::Tensor()};
    layer.mlp.down = {l.load(T::down_proj, i), at::Tensor()};
    layer.mlp.act = config.hidden_act;
    w.layers.push_back(std::move(layer));
  }
  w.norm = {l.load(T::norm), config.rms_norm_eps};

  const auto head = ckpt.first_present(names.lm_head_names);
  w.tied = config.tie_word_embeddings || !head;
  if (w.tied) {
    w.lm_head.weight = w.embed_tokens;
    // Mark a stored copy as used: tie_weights() overwrites it with embed_tokens.
    if (head) ckpt.load(*head, {config.vocab_size, config.hidden_size}, at::TensorOptions());
  } else {
    w.lm_head.weight = ckpt.load(*head, {config.vocab_size, config.hidden_size}, options);
  }
  return w;
}

}  // namespace mechlens::models::qwen2
