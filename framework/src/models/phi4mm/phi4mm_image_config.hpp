#pragma once
// What Phi-4-multimodal's image encoder reads from a checkpoint's configs.
//   remote code ("phi4mm"): config.json has no vision sizes; modeling_phi4mm.py
//     builds SigLIP-so400m at 448 (1152 wide, 27 layers, 16 heads, FFN 4304,
//     patch 14, gelu tanh, LayerNorm 1e-6) and reads hidden_states[layer_idx]
//     with layer_idx = config.img_processor["layer_idx"] when img_processor
//     is a dict, else -2. A "vision_config" object, when present (tiny test
//     checkpoints), gives the sizes instead.
//   transformers-native ("phi4_multimodal"): vision_config {hidden_size, ...,
//     feature_layer, crop_size}.
//   both: embd_layer.image_embd_layer {crop_size, hd_transform_order "sub_glb",
//     image_token_compression_cls "avg_pool_2d", projection_cls "mlp",
//     use_hd_transform, with_learnable_separator} (others are refused by name);
//     preprocessor_config.json's dynamic_hd (36 when absent).
#include <cstdint>
#include <string>

#include "checkpoint/config.hpp"
#include "models/phi4mm/phi4mm_hd_transform.hpp"
#include "models/siglip/siglip_config.hpp"

namespace mechlens::models::phi4mm {

struct Phi4mmImageConfig {
  siglip::SiglipConfig tower;
  int feature_layer = -2;       // hidden_states index as written (negative: from the end)
  HdConfig hd;
  std::int64_t d_model = 0;     // the decoder's hidden_size (projection output)
  std::int64_t image_token_id = 200010;  // <|endoftext10|>, what <|image_1|> expands to

  // hidden_states index in 0 .. num_layers (0 = embeddings): also the number of layers run.
  int hidden_index() const { return feature_layer < 0 ? tower.num_layers + 1 + feature_layer : feature_layer; }

  // `config` = config.json; `directory` holds preprocessor_config.json (optional).
  static Phi4mmImageConfig from(const checkpoint::Config& config, const std::string& directory);
};

}  // namespace mechlens::models::phi4mm
