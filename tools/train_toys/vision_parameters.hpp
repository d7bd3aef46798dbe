#pragma once
// The LLaVA-OneVision vision side as trainable tensors: the SigLIP tower's
// embeddings and layers, the projector and image_newline, read from a
// checkpoint under its real tensor names and written back under the same
// names. The toy trainer builds siglip::SiglipTower and the adapter's
// Projector from them, so training runs the adapter's own forward code.
#include <string>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "models/llava_onevision/llava_config.hpp"
#include "models/llava_onevision/llava_weights.hpp"
#include "models/siglip/siglip_tower.hpp"

namespace mechlens::toys {

struct VisionParameters {
  at::Tensor patch_weight;        // [D, C, P, P] as stored
  at::Tensor patch_bias;          // [D]
  at::Tensor position_embedding;  // [patches, D]
  std::vector<models::siglip::SiglipLayerWeights> layers;
  models::llava_onevision::Projector projector;
  at::Tensor image_newline;  // [d_model]
};

// Trainable float32 copies of every tensor the LLaVA features use (all
// `config.vision.num_layers` tower layers: the toy's feature layer is the last).
VisionParameters load_vision_parameters(const checkpoint::Checkpoint& ckpt,
                                        const models::llava_onevision::LlavaConfig& config,
                                        const models::llava_onevision::LlavaLayout& layout);

// (checkpoint name, tensor) for each of them.
std::vector<std::pair<std::string, at::Tensor*>> named_parameters(VisionParameters& v,
                                                                  const models::llava_onevision::LlavaLayout& layout);

// The tower over these tensors (cheap: it holds references, not copies).
models::siglip::SiglipTower make_tower(const VisionParameters& v, const models::siglip::SiglipConfig& config);

}  // namespace mechlens::toys
