#pragma once
// The SigLIP vision transformer (SiglipVisionTransformer in
// transformers/models/siglip/modeling_siglip.py) up to the hidden state an
// adapter asks for:
//   embeddings = Conv2d(patch, stride patch)(pixels) flattened row-major + position_embedding
//                (learned, one per patch; no class token)
//   per layer (pre-LN): x = x + out_proj(attn(layer_norm1(x)))   bidirectional, q/k/v/out with bias
//                       x = x + fc2(gelu_tanh(fc1(layer_norm2(x))))
// hidden_states[0] is the embedding output, hidden_states[i] the output of
// layer i; post_layernorm is not applied to them (LLaVA reads hidden_states,
// not last_hidden_state), so it is never loaded.
//
// Hook points, batch = crops: vision.hook_embed [N, P, D]; per layer
// vision.blocks.L.{hook_resid_pre, attn.hook_q, attn.hook_k, attn.hook_v,
// attn.hook_attn_scores, attn.hook_pattern, attn.hook_z, hook_attn_out,
// hook_mlp_out, hook_resid_post}.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "mechlens/hooks.hpp"
#include "mechlens/model.hpp"
#include "models/layers/linear.hpp"
#include "models/layers/norms.hpp"
#include "models/siglip/siglip_config.hpp"

namespace mechlens::models::siglip {

struct SiglipLayerWeights {
  layers::LayerNorm layer_norm1, layer_norm2;
  layers::Linear q_proj, k_proj, v_proj, out_proj, fc1, fc2;
};

class SiglipTower {
 public:
  SiglipTower() = default;
  // Loads the embeddings and the first `n_layers` encoder layers under
  // `prefix` ("vision_tower.vision_model." or "model.vision_tower.vision_model.").
  static SiglipTower load(const checkpoint::Checkpoint& ckpt, const SiglipConfig& config, int n_layers,
                          const at::TensorOptions& options, const std::string& prefix);
  // From tensors in hand (tools/train_toys trains through this same forward):
  // patch_weight in the checkpoint's shape [D, C, P, P], the layers in order.
  SiglipTower(SiglipConfig config, const at::Tensor& patch_weight, at::Tensor patch_bias,
              at::Tensor position_embedding, std::vector<SiglipLayerWeights> layers);

  const SiglipConfig& config() const { return config_; }
  int loaded_layers() const { return static_cast<int>(layers_.size()); }
  std::vector<HookPoint> hook_points() const;

  // pixels [N, C, S, S] (any float dtype; cast to the weights' dtype as HF
  // does) → the hidden states at `indices` (HF hidden_states indexing:
  // 0 = embeddings, i = after layer i; all must be <= loaded_layers()).
  std::vector<at::Tensor> hidden_states(const at::Tensor& pixels, const std::vector<int>& indices,
                                        const HookSet* hooks) const;

  // NaViT-style crops (Idefics2's and Phi-4-mm's vision_siglip_navit.py): a
  // crop whose trailing patches are padding gives its real patches position
  // ids spread over the whole table and keeps the padded ones out of every
  // attention as keys (they still attend, as queries, to the real ones).
  struct PatchInputs {
    at::Tensor position_ids;  // [N, P] int64 rows of position_embedding (undefined: 0 .. P-1)
    at::Tensor key_mask;      // [N, P] bool, true = a real patch (undefined: all real, no mask)
  };
  std::vector<at::Tensor> hidden_states(const at::Tensor& pixels, const std::vector<int>& indices, const HookSet* hooks,
                                        const PatchInputs& patches) const;

 private:
  SiglipConfig config_;
  at::Tensor patch_weight;  // [D, C*P*P] (the conv kernel flattened: a stride-P conv is a matmul over patches)
  at::Tensor patch_bias;    // [D]
  at::Tensor position_embedding;  // [P, D]
  std::vector<SiglipLayerWeights> layers_;
};

// Checkpoint tensors under `prefix` the LLaVA features never use (the
// post-layernorm, the pooling head, layers after the feature layer).
std::vector<std::string> siglip_unused_tensors(const std::string& prefix, int loaded_layers, int total_layers);

}  // namespace mechlens::models::siglip
