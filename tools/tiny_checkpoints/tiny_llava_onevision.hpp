#pragma once
// Tiny random LLaVA-OneVision checkpoints in the exact Hugging Face layout of
// llava-hf/llava-onevision-qwen2-0.5b-ov-hf: config.json with nested
// text_config (qwen2) and vision_config (siglip_vision_model),
// preprocessor_config.json, processor_config.json, chat_template.json,
// tokenizer.json + tokenizer_config.json (the real added tokens, ids moved
// into the tiny vocabulary), model.safetensors with the real tensor names.
// The vision sizes are small (56 px crops of 14 px patches: a 4 x 4 grid),
// the grid pinpoints scaled alike (multiples of the crop, 1..6 per side), so
// a 640 x 480 image still makes several tiles.
#include <cstdint>
#include <string>

#include "tiny_qwen2.hpp"

namespace mechlens::tiny {

struct TinyLlavaOptions {
  TinyQwen2Options text;
  int vision_layers = 3;   // encoder layers written
  int vision_heads = 4;
  int vision_d = 32;
  int vision_ff = 64;
  int image_size = 56;     // crop side
  int patch_size = 14;
  int max_grid = 6;        // pinpoints [image_size * i, image_size * j], 1 <= i, j <= max_grid
  int feature_layer = -1;  // vision_feature_layer
  std::string select_strategy = "full";
  bool newer_layout = false;  // model.language_model.* / lm_head / model.vision_tower.* (transformers >= 4.52)
  bool with_post_layernorm = true;  // vision_tower...post_layernorm (saved by HF, unused by LLaVA)
  std::uint64_t seed = 0;
  std::string dtype = "float32";
};

// The chat template text of the real checkpoint's chat_template.json.
const std::string& llava_onevision_chat_template();

void write_tiny_llava_onevision(const std::string& directory, const TinyLlavaOptions& options);

}  // namespace mechlens::tiny
