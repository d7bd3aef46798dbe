#pragma once
// LlavaOnevisionConfig (transformers/models/llava_onevision/configuration_llava_onevision.py):
// the nested text (Qwen2) and vision (SigLIP) configs and the multimodal keys.
#include <string>
#include <utility>
#include <vector>

#include "checkpoint/config.hpp"
#include "models/layers/activations.hpp"
#include "models/qwen2/qwen2_config.hpp"
#include "models/siglip/siglip_config.hpp"

namespace mechlens::models::llava_onevision {

struct LlavaConfig {
  checkpoint::Config text_json;  // "text_config", for Qwen2Decoder::load
  qwen2::Qwen2Config text;
  siglip::SiglipConfig vision;
  std::int64_t image_token_id = 151646;  // "image_token_index" (hub) or "image_token_id" (newer)
  std::vector<std::pair<int, int>> grid_pinpoints;  // (height, width) in pixels
  std::vector<int> feature_layers;  // vision_feature_layer, HF hidden_states indices resolved to >= 0
  std::string select_strategy = "full";  // "full" keeps every patch; "default" drops the first
  int max_num_patches = 9;               // from vision_aspect_ratio "anyres_max_9"
  layers::Activation projector_act = layers::Activation::gelu;
  bool projector_bias = true;

  // Hidden states the tower must compute: max(feature_layers).
  int vision_layers_needed() const;
  static LlavaConfig from(const checkpoint::Config& config);
};

}  // namespace mechlens::models::llava_onevision
