#pragma once
// The image-encoder half of a tiny Phi-4-multimodal checkpoint, in both
// weight layouts of ../shared/MODELS.md ("Phi-4-multimodal"):
//   remote code (model_type "phi4mm", Microsoft's modeling_phi4mm.py):
//     model.embed_tokens_extend.image_embed.img_processor.{embeddings,encoder,post_layernorm}.*
//     model.embed_tokens_extend.image_embed.glb_GN [1, 1, Dv], .sub_GN [1, 1, 1, Dv]
//     model.embed_tokens_extend.image_embed.img_projection.{0,2}.{weight,bias}
//   Hugging Face native (model_type "phi4_multimodal", modeling_phi4_multimodal.py):
//     the same tower prefix,
//     ...image_embed.global_img_feature_extensor, .sub_img_feature_extensor
//     ...image_embed.img_projection_up / img_projection_down.{weight,bias}
// The text engineer's generator (tiny_phi4mm.cpp) owns the TensorWriter and
// config.json; it calls add_tiny_phi4mm_vision_tensors() on its writer and
// merges tiny_phi4mm_vision_config() into config.json (both layouts carry a
// "vision_config" with the tower's small sizes: the real remote-code config
// has none and the reader then assumes SigLIP-so400m at 448; the tiny
// "phi4mm" config carries it as TensorRT-LLM's tiny Phi-4-mm test does).
//
// Sizes: a crop of 112 px in 14 px patches is an 8 x 8 patch grid pooled to
// 4 x 4 tokens per crop, so an image of a few hundred pixels already makes
// several HD crops with padding.
#include <cstdint>
#include <nlohmann/json.hpp>

#include "tiny_tensors.hpp"

namespace mechlens::tiny {

struct TinyPhi4mmVisionOptions {
  int layers = 3;          // encoder layers written (num_hidden_layers); feature_layer -2 uses the first 2
  int heads = 2;
  int d = 16;              // tower hidden size (SigLIP so400m: 1152)
  int ff = 32;             // tower MLP size (4304)
  int crop_size = 112;     // image_size = crop_size (448 in the real model)
  int patch_size = 14;
  int feature_layer = -2;  // hidden_states index (layer_idx)
  bool with_post_layernorm = true;  // saved by both layouts, unused by the features
};

// Writes every image-encoder tensor; `d_model` is the decoder's hidden size
// (the projection's output); `native_layout` picks the tensor spelling.
void add_tiny_phi4mm_vision_tensors(TensorWriter& writer, const TinyPhi4mmVisionOptions& options, std::int64_t d_model,
                                    bool native_layout);

// config.json pieces: {"embd_layer": {"image_embd_layer": {...}}, "vision_config": {...}}
// (the caller adds its own embd_layer.audio_embd_layer etc. around them).
nlohmann::json tiny_phi4mm_vision_config(const TinyPhi4mmVisionOptions& options);

// preprocessor_config.json for either layout (dynamic_hd 36, mean/std 0.5).
nlohmann::json tiny_phi4mm_preprocessor_config(const TinyPhi4mmVisionOptions& options, bool native_layout);

}  // namespace mechlens::tiny
