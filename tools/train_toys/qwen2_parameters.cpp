#include "qwen2_parameters.hpp"

#include <ATen/ATen.h>

namespace mechlens::toys {

std::vector<std::pair<std::string, at::Tensor*>> named_parameters(models::qwen2::Qwen2Weights& w,
                                                                  const std::string& prefix) {
  std::vector<std::pair<std::string, at::Tensor*>> out;
  out.emplace_back(prefix + "embed_tokens.weight", &w.embed_tokens);
  for (std::size_t l = 0; l < w.layers.size(); ++l) {
    auto& L = w.layers[l];
    const std::string b = prefix + "layers." + std::to_string(l) + ".";
    out.emplace_back(b + "input_layernorm.weight", &L.input_layernorm.weight);
    for (auto [name, lin] : {std::pair{"q_proj", &L.q_proj}, {"k_proj", &L.k_proj}, {"v_proj", &L.v_proj}, {"o_proj", &L.o_proj}}) {
      out.emplace_back(b + "self_attn." + name + ".weight", &lin->weight);
      if (lin->bias.defined()) out.emplace_back(b + "self_attn." + name + ".bias", &lin->bias);
    }
    out.emplace_back(b + "post_attention_layernorm.weight", &L.post_attention_layernorm.weight);
    out.emplace_back(b + "mlp.gate_proj.weight", &L.mlp.gate.weight);
    out.emplace_back(b + "mlp.up_proj.weight", &L.mlp.up.weight);
    out.emplace_back(b + "mlp.down_proj.weight", &L.mlp.down.weight);
  }
  out.emplace_back(prefix + "norm.weight", &w.norm.weight);
  if (!w.tied) out.emplace_back("lm_head.weight", &w.lm_head.weight);
  return out;
}

void make_trainable(models::qwen2::Qwen2Weights& w) {
  // The loaded tensors alias the read-only checkpoint mapping: copy first.
  for (auto& [name, tensor] : named_parameters(w)) *tensor = tensor->detach().clone().set_requires_grad(true);
  if (w.tied) w.lm_head.weight = w.embed_tokens;
}

}  // namespace mechlens::toys
