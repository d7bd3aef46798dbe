#include "vision_parameters.hpp"

#include <ATen/ATen.h>

namespace mechlens::toys {

using models::llava_onevision::LlavaConfig;
using models::llava_onevision::LlavaLayout;

std::vector<std::pair<std::string, at::Tensor*>> named_parameters(VisionParameters& v, const LlavaLayout& layout) {
  std::vector<std::pair<std::string, at::Tensor*>> out;
  const std::string t = layout.vision_tower, e = t + "embeddings.";
  out.emplace_back(e + "patch_embedding.weight", &v.patch_weight);
  out.emplace_back(e + "patch_embedding.bias", &v.patch_bias);
  out.emplace_back(e + "position_embedding.weight", &v.position_embedding);
  for (std::size_t l = 0; l < v.layers.size(); ++l) {
    auto& L = v.layers[l];
    const std::string b = t + "encoder.layers." + std::to_string(l) + ".";
    for (auto [name, norm] : {std::pair{"layer_norm1", &L.layer_norm1}, {"layer_norm2", &L.layer_norm2}}) {
      out.emplace_back(b + name + ".weight", &norm->weight);
      out.emplace_back(b + name + ".bias", &norm->bias);
    }
    for (auto [name, lin] : {std::pair{"self_attn.q_proj", &L.q_proj}, {"self_attn.k_proj", &L.k_proj},
                             {"self_attn.v_proj", &L.v_proj}, {"self_attn.out_proj", &L.out_proj},
                             {"mlp.fc1", &L.fc1}, {"mlp.fc2", &L.fc2}}) {
      out.emplace_back(b + name + ".weight", &lin->weight);
      out.emplace_back(b + name + ".bias", &lin->bias);
    }
  }
  const std::string p = layout.projector;
  out.emplace_back(p + "linear_1.weight", &v.projector.linear_1.weight);
  out.emplace_back(p + "linear_1.bias", &v.projector.linear_1.bias);
  out.emplace_back(p + "linear_2.weight", &v.projector.linear_2.weight);
  out.emplace_back(p + "linear_2.bias", &v.projector.linear_2.bias);
  out.emplace_back(layout.image_newline, &v.image_newline);
  return out;
}

VisionParameters load_vision_parameters(const checkpoint::Checkpoint& ckpt, const LlavaConfig& config,
                                        const LlavaLayout& layout) {
  VisionParameters v;
  v.layers.resize(config.vision.num_layers);
  for (auto& L : v.layers) L.layer_norm1.eps = L.layer_norm2.eps = config.vision.layer_norm_eps;
  v.projector.act = config.projector_act;
  const at::TensorOptions f32(at::kFloat);
  for (auto& [name, tensor] : named_parameters(v, layout)) {
    // The checkpoint's own shapes; the adapter checks them against config.json at load.
    const at::Tensor stored = ckpt.load(name, ckpt.view(name).shape, f32);
    // Copies: the loaded tensors alias the read-only checkpoint mapping.
    *tensor = stored.detach().clone().set_requires_grad(true);
  }
  return v;
}

models::siglip::SiglipTower make_tower(const VisionParameters& v, const models::siglip::SiglipConfig& config) {
  return models::siglip::SiglipTower(config, v.patch_weight, v.patch_bias, v.position_embedding, v.layers);
}

}  // namespace mechlens::toys
