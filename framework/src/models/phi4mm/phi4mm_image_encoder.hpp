#pragma once
// Phi-4-multimodal's image encoder (Phi4MMImageEmbedding in Microsoft's
// modeling_phi4mm.py, HD branch; Phi4MultimodalImageEmbedding in
// transformers): one image → the rows that replace its <|image|> tokens.
//
// HOW THE ADAPTER CALLS IT
//   load:    table.include(image_encoder_table(cfg));  ... t = table.resolve(ckpt);
//            encoder = Phi4mmImageEncoder::load(t, cfg, options);
//            (cfg = Phi4mmImageConfig::from(ckpt.config(), ckpt.directory());
//             encoder.layout_name() goes into the provenance)
//   encode:  PreparedImage p = prepare_image(vision::decode_image(path), cfg);
//            expand "<|image_1|>" to p.tokens() copies of cfg.image_token_id,
//            append p.annotations for those positions, keep
//            extras["pixel_values"] = p.pixels.pixel_values  [1 + crops, 3, S, S] float32,
//            extras["patch_mask"]   = p.pixels.patch_mask    [1 + crops, G, G] bool,
//            extras["image_size"]   = {height, width} int64 of the original.
//   embed:   rows = encoder.features(pixel_values, patch_mask, hd_geometry(w, h, cfg.hd), hooks)
//            [tokens, d_model] in the model's dtype, scattered into the image positions in order.
//   (encode_image() does prepare + features in one call, for tests and tools.)
//
// The forward:
//   tower     SigLIP (models/siglip) on the global view and the crops,
//             NaViT position ids and key mask from each crop's patch mask,
//             hidden_states[feature_layer] (-2: the layer before the last;
//             post_layernorm never applied)
//   pool      2x2 average pooling: G x G patches → side x side (16 x 16)
//   assemble  ("sub_glb") the kept token_rows x token_cols of the crops'
//             grid, each row followed by sub_GN; glb_GN; the global view's
//             side rows, each followed by sub_GN
//   project   Linear → GELU (erf) → Linear into d_model, separators included
//
// Hook points (batch = crops, global view first):
//   vision.hook_embed, vision.blocks.L.*   the tower's (L < the feature layer)
//   vision.hook_features    [N, G*G, Dv]   the feature layer's hidden state
//   vision.hook_pooled      [N, side*side, Dv]
//   vision.hook_projected   [tokens, D]    the rows in prompt order
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "checkpoint/tensor_table.hpp"
#include "mechlens/hooks.hpp"
#include "mechlens/input.hpp"
#include "mechlens/model.hpp"
#include "models/layers/linear.hpp"
#include "models/phi4mm/phi4mm_hd_transform.hpp"
#include "models/phi4mm/phi4mm_image_config.hpp"
#include "models/siglip/siglip_tower.hpp"
#include "vision/image.hpp"

namespace mechlens::models::phi4mm {

// Every image-encoder tensor under model.embed_tokens_extend.image_embed.,
// with both spellings (remote glb_GN / sub_GN / img_projection.0 / .2, native
// global_img_feature_extensor / sub_img_feature_extensor / img_projection_up /
// _down); the tower's post_layernorm, pooling head and layers after the
// feature layer are ignored.
checkpoint::TensorTable image_encoder_table(const Phi4mmImageConfig& config);

struct PreparedImage {
  HdImage pixels;
  std::vector<TokenAnnotation> annotations;  // hd_annotations, one per image token
  std::int64_t tokens() const { return pixels.geometry.tokens(); }
};

PreparedImage prepare_image(const vision::RgbImage& image, const Phi4mmImageConfig& config);

// NaViT position ids of vision_siglip_navit.py for each crop's patch mask
// ([N, G, G] bool → [N, G*G] int64): a crop with nh x nw real patches gets
// bucketize(arange(0, 1 - 1e-6, 1 / n), arange(1 / G, 1, 1 / G), right=True)
// per axis, in float32 as torch computes it; padded patches get 0.
at::Tensor navit_position_ids(const at::Tensor& patch_mask);

class Phi4mmImageEncoder {
 public:
  Phi4mmImageEncoder() = default;
  static Phi4mmImageEncoder load(const checkpoint::TensorSet& tensors, const Phi4mmImageConfig& config,
                                 const at::TensorOptions& options);

  const Phi4mmImageConfig& config() const { return config_; }
  // "remote (glb_GN, sub_GN, img_projection.0/.2)" or "native (global_img_feature_extensor, ...)".
  const std::string& layout_name() const { return layout_; }
  std::vector<HookPoint> hook_points() const;

  // pixel_values [1 + crops, 3, S, S], patch_mask [1 + crops, G, G] → [geometry.tokens(), d_model].
  at::Tensor features(const at::Tensor& pixel_values, const at::Tensor& patch_mask, const HdGeometry& geometry,
                      const HookSet* hooks) const;

  // Prepare + features in one call.
  at::Tensor encode_image(const vision::RgbImage& image, std::vector<TokenAnnotation>* annotations,
                          const HookSet* hooks) const;

 private:
  Phi4mmImageConfig config_;
  std::string layout_;
  siglip::SiglipTower tower_;
  at::Tensor glb_gn_;  // [Dv]
  at::Tensor sub_gn_;  // [Dv]
  layers::Linear up_, down_;
};

}  // namespace mechlens::models::phi4mm
