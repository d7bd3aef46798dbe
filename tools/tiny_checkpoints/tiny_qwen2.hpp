#pragma once
// Tiny random Qwen2ForCausalLM checkpoints in the Hugging Face layout
// (config.json, model.safetensors, tokenizer.json, tokenizer_config.json),
// and the Qwen2 language-model part the LLaVA-OneVision writer reuses.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "tiny_tensors.hpp"

namespace mechlens::tiny {

struct TinyQwen2Options {
  int layers = 2;
  int heads = 4;
  int kv_heads = 2;  // 2 query heads per KV head
  int d_model = 32;
  int d_ff = 64;
  int vocab_size = 0;  // 0: the tokenizer's size rounded up to a multiple of 64 (the real one pads too)
  int merges = 300;    // BPE merges learned for the tiny tokenizer
  int max_positions = 4096;
  double rope_theta = 1000000.0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = true;  // as Qwen2-0.5B; false writes lm_head.weight
  std::uint64_t seed = 0;
  std::string dtype = "float32";

  // Qwen2-0.5B's shape: 24 layers, d 896, 14 heads / 2 KV heads, FFN 4864, vocab 151,936.
  static TinyQwen2Options qwen2_0_5b_shaped();
};

// The text_config / Qwen2 config.json body for these options and vocabulary size.
nlohmann::json qwen2_config_json(const TinyQwen2Options& o, int vocab_size);
// Qwen2 decoder tensors under `prefix` ("model.", "language_model.model.", ...);
// lm_head under `lm_head_name` unless tied.
void add_qwen2_tensors(TensorWriter& w, const TinyQwen2Options& o, int vocab_size, const std::string& prefix,
                       const std::string& lm_head_name);

void write_tiny_qwen2(const std::string& directory, const TinyQwen2Options& options);

}  // namespace mechlens::tiny
