#pragma once
// The parts of a SigLIP vision config the tower needs (SiglipVisionConfig in
// transformers/models/siglip/configuration_siglip.py); for LLaVA-OneVision
// config.json's "vision_config".
#include <string>

#include "checkpoint/config.hpp"
#include "models/layers/activations.hpp"

namespace mechlens::models::siglip {

struct SiglipConfig {
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_channels = 3;
  int image_size = 0;  // crop side in pixels (384 for so400m-patch14-384)
  int patch_size = 0;  // 14
  double layer_norm_eps = 1e-6;
  layers::Activation hidden_act = layers::Activation::gelu_tanh;  // "gelu_pytorch_tanh"

  int head_dim() const { return hidden_size / num_heads; }
  int grid() const { return image_size / patch_size; }  // patches per side (27)
  int num_patches() const { return grid() * grid(); }   // 729, no class token

  static SiglipConfig from(const checkpoint::Config& config);
};

}  // namespace mechlens::models::siglip
