#include "models/siglip/siglip_tower.hpp"

#include <ATen/ATen.h>

#include <algorithm>

#include "mechlens/error.hpp"
#include "models/layers/activations.hpp"
#include "models/layers/attention.hpp"
#include "models/layers/hook_points.hpp"
#include "models/siglip/siglip_tensors.hpp"

namespace mechlens::models::siglip {
// modeling_siglip.py: SiglipVisionEmbeddings, SiglipEncoderLayer, SiglipAttention, SiglipMLP.

SiglipTower SiglipTower::load(const checkpoint::Checkpoint& ckpt, const SiglipConfig& config, int n_layers,
                              const at::TensorOptions& options, const std::string& prefix) {
  // The tower's part of the file alone (siglip_tensors.hpp): every missing or
  // mis-shaped tensor in one error; the rest of the file is the caller's.
  const checkpoint::TensorSet tensors =
      siglip_tensor_table(config, n_layers, prefix).resolve(ckpt, checkpoint::Extras::allow);
  return load_siglip_tower(tensors, config, n_layers, options, prefix);
}

SiglipTower::SiglipTower(SiglipConfig config, const at::Tensor& patch_weight, at::Tensor patch_bias,
                         at::Tensor position_embedding, std::vector<SiglipLayerWeights> layers)
    : config_(std::move(config)),
      patch_weight(patch_weight.reshape({patch_weight.size(0), -1})),
      patch_bias(std::move(patch_bias)),
      position_embedding(std::move(position_embedding)),
      layers_(std::move(layers)) {}

std::vector<std::string> siglip_unused_tensors(const std::string& prefix, int loaded_layers, int total_layers) {
  std::vector<std::string> globs = {prefix + "post_layernorm.*", prefix + "head.*", prefix + "embeddings.position_ids"};
  for (int l = loaded_layers; l < total_layers; ++l) globs.push_back(prefix + "encoder.layers." + std::to_string(l) + ".*");
  return globs;
}

std::vector<HookPoint> SiglipTower::hook_points() const {
  const layers::HookAxes axes = layers::vision_axes();
  std::vector<HookPoint> points = {layers::residual_hook("vision.hook_embed", axes)};
  for (int l = 0; l < loaded_layers(); ++l)
    layers::append_block_hooks(points, "vision.blocks." + std::to_string(l) + ".", /*rotary=*/false, axes);
  return points;
}

std::vector<at::Tensor> SiglipTower::hidden_states(const at::Tensor& pixels, const std::vector<int>& indices,
                                                   const HookSet* hooks) const {
  return hidden_states(pixels, indices, hooks, PatchInputs{});
}

std::vector<at::Tensor> SiglipTower::hidden_states(const at::Tensor& pixels, const std::vector<int>& indices,
                                                   const HookSet* hooks, const PatchInputs& patches) const {
  const int last = indices.empty() ? 0 : *std::max_element(indices.begin(), indices.end());
  if (!indices.empty() && (*std::min_element(indices.begin(), indices.end()) < 0 || last > loaded_layers()))
    fail("vision tower", "hidden state index outside [0, " + std::to_string(loaded_layers()) + "]");
  const std::int64_t N = pixels.size(0), C = config_.num_channels, P = config_.patch_size, G = config_.grid();
  if (pixels.dim() != 4 || pixels.size(1) != C || pixels.size(2) < G * P || pixels.size(3) < G * P)
    fail("vision tower", "pixel values of shape " + std::string(c10::str(pixels.sizes())) + ", expected [N, " +
                             std::to_string(C) + ", " + std::to_string(config_.image_size) + ", " +
                             std::to_string(config_.image_size) + "]");
  // Conv2d(kernel = stride = P, padding "valid") == a matmul over the G x G patches,
  // each flattened (channel, y, x) like the kernel; patches in row-major order
  // as patch_embeds.flatten(2).transpose(1, 2).
  const at::Tensor x_pix = pixels.to(patch_weight.scalar_type()).narrow(2, 0, G * P).narrow(3, 0, G * P);
  const at::Tensor flat =
      x_pix.reshape({N, C, G, P, G, P}).permute({0, 2, 4, 1, 3, 5}).reshape({N, G * G, C * P * P});
  const at::Tensor positions = patches.position_ids.defined() ? at::embedding(position_embedding, patches.position_ids)
                                                             : position_embedding;
  at::Tensor x = at::linear(flat, patch_weight, patch_bias) + positions;
  const at::Tensor mask = patches.key_mask.defined()
                              ? layers::make_attention_mask(patches.key_mask, G * G, G * G, /*causal=*/false, x.device())
                              : at::Tensor();
  x = HookScope(hooks, "")("vision.hook_embed", std::move(x));

  std::vector<at::Tensor> states(last + 1);
  states[0] = x;
  const auto heads = config_.num_heads, d_head = config_.head_dim(), D = config_.hidden_size;
  for (int l = 0; l < last; ++l) {
    const SiglipLayerWeights& w = layers_[l];
    const HookScope scope(hooks, "vision.blocks." + std::to_string(l) + ".");
    x = scope("hook_resid_pre", std::move(x));
    const at::Tensor h = w.layer_norm1(x);
    const auto split = [&](const at::Tensor& t) { return t.view({t.size(0), t.size(1), heads, d_head}); };
    // Bidirectional; masked only where NaViT crops have padded patches.
    at::Tensor z = layers::attention(split(w.q_proj(h)), split(w.k_proj(h)), split(w.v_proj(h)), mask,
                                     scope.sub("attn."));
    at::Tensor attn_out = scope("hook_attn_out", w.out_proj(z.reshape({z.size(0), z.size(1), D})));
    x = x + attn_out;
    at::Tensor mlp_out = scope("hook_mlp_out", w.fc2(layers::activate(config_.hidden_act, w.fc1(w.layer_norm2(x)))));
    x = x + mlp_out;
    x = scope("hook_resid_post", std::move(x));
    states[l + 1] = x;
  }
  std::vector<at::Tensor> out;
  for (int i : indices) out.push_back(states[i]);
  return out;
}

}  // namespace mechlens::models::siglip
