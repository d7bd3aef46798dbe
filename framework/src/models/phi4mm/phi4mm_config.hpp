#pragma once
// The Phi-4-mini decoder's config inside a Phi-4-multimodal checkpoint, from
// either spelling of config.json:
//   model_type "phi4mm"          Microsoft's remote code (configuration_phi4mm.py):
//                                flat decoder keys, rope_scaling {type longrope,
//                                short_factor, long_factor}, vision_lora {r, lora_alpha}
//   model_type "phi4_multimodal" transformers' native conversion
//                                (configuration_phi4_multimodal.py, a Phi3Config):
//                                the same flat decoder keys, vision_config/audio_config
//                                nested, rope in rope_scaling or (transformers >= 4.56)
//                                rope_parameters {rope_type, rope_theta,
//                                partial_rotary_factor, ...}; the vision LoRA's r and
//                                alpha live in vision-lora/adapter_config.json.
// Every number comes from the file; absent keys take Phi4MMConfig's defaults
// (the Phi-4-mini sizes), as transformers does.
#include <string>
#include <vector>

#include "checkpoint/config.hpp"
#include "models/layers/activations.hpp"

namespace mechlens::models::phi4mm {

// LongRoPE (modeling_rope_utils.py _compute_longrope_parameters; Microsoft's
// Phi4MMLongRoPEScaledRotaryEmbedding): inv_freq = 1 / (ext * theta^(2i/d)),
// ext = long_factor when the sequence is longer than original_max, else
// short_factor; cos and sin multiplied by attention_factor for EVERY length.
struct LongRope {
  bool enabled = false;  // false: the default rope (no rope_scaling)
  std::vector<double> short_factor, long_factor;  // rotary_dim / 2 each
  int original_max = 0;                            // original_max_position_embeddings
  double attention_factor = 1.0;  // given, or sqrt(1 + ln(max/orig) / ln(orig)) when max > orig
};

struct Phi4mmConfig {
  std::string model_type;  // "phi4mm" or "phi4_multimodal"
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;    // hidden_size / num_attention_heads (Phi4MMAttention)
  int rotary_dim = 0;  // int(head_dim * partial_rotary_factor): 96 of 128 for Phi-4-mini
  int intermediate_size = 0;
  int vocab_size = 0;
  int max_positions = 0;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  double partial_rotary_factor = 1.0;
  bool tie_word_embeddings = true;
  layers::Activation hidden_act = layers::Activation::silu;
  LongRope rope;
  // The vision LoRA from config.json's "vision_lora" (remote code); 0 when
  // the config has none (native: adapter_config.json supplies them).
  int vision_lora_r = 0;
  double vision_lora_alpha = 0.0;
  int image_token_id = 200010;  // vision_config.image_token_id (native), the processor's constant (remote)

  // Errors name the file and the key.
  static Phi4mmConfig from(const checkpoint::Config& config);
};

}  // namespace mechlens::models::phi4mm
