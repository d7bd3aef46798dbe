#pragma once
// Tiny random Phi-4-multimodal checkpoints in both layouts of
// ../shared/MODELS.md ("Phi-4-multimodal"), keeping every structural feature
// at small sizes: several KV-head groups, partial rotary (0.75 of head_dim),
// LongRoPE short/long factors with a small original context, the vision
// LoRA (and the speech LoRA and a few audio-encoder tensors, which mechlens
// ignores), the image encoder (tiny_phi4mm_vision.hpp), shards with
// model.safetensors.index.json, tokenizer.json (o200k split regex, Phi's
// added tokens on a tiny BPE), tokenizer_config.json, preprocessor_config.json.
//   remote code: model_type "phi4mm", flat decoder keys, vision_lora/speech_lora
//     in config.json, ...<module>.base_layer.weight + lora_A/B.{vision,speech}.weight
//   native: model_type "phi4_multimodal", ...<module>.weight, vision-lora/ and
//     speech-lora/ adapter folders (adapter_config.json + adapter_model.safetensors)
#include <cstdint>
#include <string>
#include <vector>

#include "tiny_phi4mm_vision.hpp"

namespace mechlens::tiny {

struct TinyPhi4mmOptions {
  int layers = 2;
  int heads = 4;
  int kv_heads = 2;  // 2 query heads per KV head
  int d_model = 64;  // head_dim 16: 12 rotary dims, 6 LongRoPE factors
  int d_ff = 96;
  double partial_rotary_factor = 0.75;
  int max_positions = 256;          // max_position_embeddings
  int original_max_positions = 32;  // original_max_position_embeddings: short below, long above
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-5;
  int lora_r = 4;
  double lora_alpha = 8.0;  // scale 2, as the real 512 / 256
  int speech_lora_r = 6;
  double speech_lora_alpha = 12.0;
  int vocab_size = 0;  // 0: the tokenizer's size rounded up to a multiple of 64
  int merges = 300;
  bool native_layout = false;
  bool with_vision = true;  // the image encoder's tensors and config (tiny_phi4mm_vision)
  int shards = 1;           // > 1: model-0000k-of-0000N.safetensors + model.safetensors.index.json
  std::uint64_t seed = 0;
  std::string dtype = "float32";
  TinyPhi4mmVisionOptions vision;

  // Phi-4-multimodal's decoder shape: 32 layers, d 3072, 24 / 8 heads, FFN
  // 8192, vocab 200,064, LongRoPE 4096 → 131,072, vision LoRA r 256 / alpha 512,
  // speech LoRA r 320 / alpha 640 (no image encoder: with_vision false).
  static TinyPhi4mmOptions phi4mm_shaped();
};

// The LongRoPE factors the tiny config writes (rotary_dim / 2 each): short
// factors near 1, long ones rising to ~48 as the real ones do.
std::vector<double> tiny_phi4mm_short_factors(int n);
std::vector<double> tiny_phi4mm_long_factors(int n);

void write_tiny_phi4mm(const std::string& directory, const TinyPhi4mmOptions& options);

}  // namespace mechlens::tiny
