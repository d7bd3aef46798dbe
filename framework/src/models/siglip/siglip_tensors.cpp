#include "models/siglip/siglip_tensors.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"

namespace mechlens::models::siglip {
namespace {

const std::string kPatchWeight = "embeddings.patch_embedding.weight";
const std::string kPatchBias = "embeddings.patch_embedding.bias";
const std::string kPositions = "embeddings.position_embedding.weight";
const std::string kLayer = "encoder.layers.{i}.";
const char* const kNorms[] = {"layer_norm1", "layer_norm2"};

struct LinearSpec {
  const char* name;
  bool wide_out;  // [F, D] (fc1)
  bool wide_in;   // [D, F] (fc2)
};
constexpr LinearSpec kLinears[] = {{"self_attn.q_proj", false, false},   {"self_attn.k_proj", false, false},
                                   {"self_attn.v_proj", false, false},   {"self_attn.out_proj", false, false},
                                   {"mlp.fc1", true, false},             {"mlp.fc2", false, true}};

}  // namespace

checkpoint::TensorTable siglip_tensor_table(const SiglipConfig& config, int n_layers, const std::string& prefix) {
  if (n_layers < 0 || n_layers > config.num_layers)
    fail("vision tower", std::to_string(n_layers) + " layers asked of " + std::to_string(config.num_layers));
  const std::int64_t D = config.hidden_size, F = config.intermediate_size, P = config.patch_size;
  checkpoint::TensorTable t("siglip");
  t.add(prefix + kPatchWeight, {D, config.num_channels, P, P});
  t.add(prefix + kPatchBias, {D});
  t.add(prefix + kPositions, {config.num_patches(), D});
  if (n_layers > 0) {
    for (const char* norm : kNorms) {
      t.add(prefix + kLayer + norm + ".weight", {D}).layers(n_layers);
      t.add(prefix + kLayer + norm + ".bias", {D}).layers(n_layers);
    }
    for (const auto& l : kLinears) {
      const std::int64_t out = l.wide_out ? F : D, in = l.wide_in ? F : D;
      t.add(prefix + kLayer + l.name + ".weight", {out, in}).layers(n_layers);
      t.add(prefix + kLayer + l.name + ".bias", {out}).layers(n_layers);
    }
  }
  for (const auto& glob : siglip_unused_tensors(prefix, n_layers, config.num_layers)) t.ignore(glob);
  return t;
}

SiglipTower load_siglip_tower(const checkpoint::TensorSet& t, const SiglipConfig& config, int n_layers,
                              const at::TensorOptions& options, const std::string& prefix) {
  const auto linear = [&](const std::string& name, int i) {
    return layers::Linear{t.load(prefix + kLayer + name + ".weight", options, i),
                          t.load(prefix + kLayer + name + ".bias", options, i)};
  };
  const auto norm = [&](const std::string& name, int i) {
    return layers::LayerNorm{t.load(prefix + kLayer + name + ".weight", options, i),
                             t.load(prefix + kLayer + name + ".bias", options, i), config.layer_norm_eps};
  };
  std::vector<SiglipLayerWeights> layers;
  for (int i = 0; i < n_layers; ++i) {
    SiglipLayerWeights w;
    w.layer_norm1 = norm("layer_norm1", i);
    w.q_proj = linear("self_attn.q_proj", i);
    w.k_proj = linear("self_attn.k_proj", i);
    w.v_proj = linear("self_attn.v_proj", i);
    w.out_proj = linear("self_attn.out_proj", i);
    w.layer_norm2 = norm("layer_norm2", i);
    w.fc1 = linear("mlp.fc1", i);
    w.fc2 = linear("mlp.fc2", i);
    layers.push_back(std::move(w));
  }
  return SiglipTower(config, t.load(prefix + kPatchWeight, options), t.load(prefix + kPatchBias, options),
                     t.load(prefix + kPositions, options), std::move(layers));
}

}  // namespace mechlens::models::siglip
