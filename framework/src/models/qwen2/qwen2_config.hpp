#pragma once
// The parts of a Qwen2 config the forward pass needs (Qwen2Config in
// transformers/models/qwen2/configuration_qwen2.py). For LLaVA-OneVision this
// is config.json's "text_config".
#include <string>

#include "checkpoint/config.hpp"
#include "models/layers/activations.hpp"

namespace mechlens::models::qwen2 {

struct Qwen2Config {
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;  // num_key_value_heads
  int head_dim = 0;      // "head_dim" when given, else hidden_size / num_heads
  int intermediate_size = 0;
  int vocab_size = 0;
  int max_positions = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;  // "rope_theta", or "rope_parameters.rope_theta" (transformers >= 4.56)
  bool tie_word_embeddings = false;
  layers::Activation hidden_act = layers::Activation::silu;

  // Errors name the file and the key ("config.json: key 'text_config.hidden_size'").
  // Rope scaling other than the default rope and sliding-window attention are
  // refused rather than silently ignored.
  static Qwen2Config from(const checkpoint::Config& config);
};

}  // namespace mechlens::models::qwen2
