#pragma once
// Where a LLaVA-OneVision checkpoint keeps each part. One table
// (llava_weights.cpp) lists both spellings found in the wild:
//   hub (transformers < 4.52 saved):  language_model.model.*, language_model.lm_head.weight,
//                                     vision_tower.vision_model.*, multi_modal_projector.*, image_newline
//   transformers >= 4.52 saved:       model.language_model.*, lm_head.weight,
//                                     model.vision_tower.vision_model.*, model.multi_modal_projector.*,
//                                     model.image_newline
// (LlavaOnevisionForConditionalGeneration._checkpoint_conversion_mapping.)
#include <ATen/core/Tensor.h>

#include <string>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/tensor_table.hpp"
#include "models/layers/linear.hpp"
#include "models/llava_onevision/llava_config.hpp"

namespace mechlens::models::llava_onevision {

struct LlavaLayout {
  const char* name;  // "hub" | "transformers>=4.52"
  const char* language_model;  // prefix before embed_tokens.weight
  const char* lm_head;
  const char* vision_tower;    // prefix before embeddings.patch_embedding.weight
  const char* projector;       // prefix before linear_1.weight
  const char* image_newline;
};

// The layout whose embed_tokens the checkpoint has; error naming both spellings otherwise.
const LlavaLayout& detect_layout(const checkpoint::Checkpoint& ckpt);

struct Projector {
  layers::Linear linear_1, linear_2;
  layers::Activation act = layers::Activation::gelu;
  at::Tensor operator()(const at::Tensor& x) const;
};

// The projector's tensors and image_newline under the layout's names.
checkpoint::TensorTable projector_tensor_table(const LlavaConfig& config, const LlavaLayout& layout);
// From a resolved table that includes projector_tensor_table(config, layout).
Projector load_projector(const checkpoint::TensorSet& tensors, const LlavaConfig& config, const LlavaLayout& layout,
                         const at::TensorOptions& options);

}  // namespace mechlens::models::llava_onevision
