#include "models/qwen2/qwen2_config.hpp"

#include "mechlens/error.hpp"
#include "models/decoder_sizes.hpp"

namespace mechlens::models::qwen2 {

Qwen2Config Qwen2Config::from(const checkpoint::Config& config) {
  Qwen2Config c;
  // Absent keys take Qwen2Config's defaults, as transformers does (LLaVA
  // configs often list only what differs from them).
  c.hidden_size = config.get_or<int>("hidden_size", 4096);
  c.num_layers = config.get_or<int>("num_hidden_layers", 32);
  c.num_heads = config.get_or<int>("num_attention_heads", 32);
  // An explicit null means "as many as the query heads" (Qwen2Config.__init__).
  const bool kv_null = config.json().contains("num_key_value_heads") && config.json().at("num_key_value_heads").is_null();
  c.num_kv_heads = kv_null ? c.num_heads : config.get_or<int>("num_key_value_heads", 32);
  c.intermediate_size = config.get_or<int>("intermediate_size", 22016);
  c.vocab_size = config.get_or<int>("vocab_size", 151936);
  c.max_positions = config.get_or<int>("max_position_embeddings", 32768);
  c.rms_norm_eps = config.get_or<double>("rms_norm_eps", 1e-6);
  c.tie_word_embeddings = config.get_or<bool>("tie_word_embeddings", false);
  c.hidden_act = layers::parse_activation(config.get_or<std::string>("hidden_act", "silu"), config.where("hidden_act"));

  check_decoder_sizes(config, c);
  if (config.has("head_dim")) {
    c.head_dim = config.get<int>("head_dim");
    require_positive(config, "head_dim", c.head_dim);
  } else {
    if (c.hidden_size % c.num_heads != 0)
      fail(config.where("hidden_size"), std::to_string(c.hidden_size) + " is not a multiple of num_attention_heads " +
                                            std::to_string(c.num_heads));
    c.head_dim = c.hidden_size / c.num_heads;
  }
  if (c.head_dim % 2 != 0) fail(config.where("head_dim"), "rotary needs an even head dimension, got " + std::to_string(c.head_dim));

  // Rope: the default type only. Newer configs nest it in rope_parameters.
  std::string rope_type = "default";
  if (config.has("rope_parameters")) {
    const auto rope = config.child("rope_parameters");
    c.rope_theta = rope.get_or<double>("rope_theta", config.get_or<double>("rope_theta", 10000.0));
    rope_type = rope.get_or<std::string>("rope_type", rope.get_or<std::string>("type", "default"));
  } else {
    c.rope_theta = config.get_or<double>("rope_theta", 10000.0);
    if (config.has("rope_scaling")) {
      const auto scaling = config.child("rope_scaling");
      rope_type = scaling.get_or<std::string>("rope_type", scaling.get_or<std::string>("type", "default"));
    }
  }
  if (rope_type != "default")
    fail(config.where(config.has("rope_parameters") ? "rope_parameters" : "rope_scaling"),
         "rope type '" + rope_type + "' is not supported for qwen2 (only the default rope)");
  if (c.rope_theta <= 0) fail(config.where("rope_theta"), "must be positive");
  if (config.get_or<bool>("use_sliding_window", false))
    fail(config.where("use_sliding_window"), "sliding-window attention is not supported");
  return c;
}

}  // namespace mechlens::models::qwen2
