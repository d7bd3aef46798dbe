#include "models/phi4mm/phi4mm_config.hpp"

#include <cmath>

#include "mechlens/error.hpp"
#include "models/decoder_sizes.hpp"

namespace mechlens::models::phi4mm {
namespace {

std::vector<double> factors(const checkpoint::Config& rope, const char* key, int expected) {
  const auto& json = rope.json();
  if (!json.contains(key) || !json.at(key).is_array()) fail(rope.where(key), "missing or not a list of numbers");
  std::vector<double> out;
  for (const auto& v : json.at(key)) {
    if (!v.is_number()) fail(rope.where(key), "holds a non-number (" + v.dump() + ")");
    out.push_back(v.get<double>());
    if (!(out.back() > 0)) fail(rope.where(key), "factors must be positive, got " + v.dump());
  }
  if (static_cast<int>(out.size()) != expected)
    fail(rope.where(key), "has " + std::to_string(out.size()) + " factors, the rotary dimension needs " +
                              std::to_string(expected) + " (rotary_dim / 2)");
  return out;
}

}  // namespace

Phi4mmConfig Phi4mmConfig::from(const checkpoint::Config& config) {
  Phi4mmConfig c;
  c.model_type = config.get<std::string>("model_type");
  if (c.model_type != "phi4mm" && c.model_type != "phi4_multimodal")
    fail(config.where("model_type"), "'" + c.model_type + "' is neither phi4mm nor phi4_multimodal");
  // Defaults: Phi4MMConfig / Phi4MultimodalConfig.__init__ (the Phi-4-mini sizes).
  c.hidden_size = config.get_or<int>("hidden_size", 3072);
  c.num_layers = config.get_or<int>("num_hidden_layers", 32);
  c.num_heads = config.get_or<int>("num_attention_heads", 32);
  c.num_kv_heads = config.get_or<int>("num_key_value_heads", c.num_heads);
  c.intermediate_size = config.get_or<int>("intermediate_size", 8192);
  c.vocab_size = config.get_or<int>("vocab_size", 200064);
  c.max_positions = config.get_or<int>("max_position_embeddings", 131072);
  c.rms_norm_eps = config.get_or<double>("rms_norm_eps", 1e-5);
  c.tie_word_embeddings = config.get_or<bool>("tie_word_embeddings", false);
  c.hidden_act = layers::parse_activation(config.get_or<std::string>("hidden_act", "silu"), config.where("hidden_act"));

  check_decoder_sizes(config, c);
  // Phi4MMAttention: head_dim = hidden_size // num_heads, and refuses a remainder.
  if (c.hidden_size % c.num_heads != 0)
    fail(config.where("hidden_size"),
         std::to_string(c.hidden_size) + " is not a multiple of num_attention_heads " + std::to_string(c.num_heads));
  c.head_dim = c.hidden_size / c.num_heads;
  if (config.has("head_dim") && config.get<int>("head_dim") != c.head_dim)
    fail(config.where("head_dim"), "differs from hidden_size / num_attention_heads = " + std::to_string(c.head_dim));
  if (config.get_or<bool>("attention_bias", false)) fail(config.where("attention_bias"), "Phi-4 projections have no bias");

  // Rope: rope_parameters (newer transformers) or rope_scaling + flat keys.
  const bool nested = config.has("rope_parameters");
  const checkpoint::Config rope_cfg = nested ? config.child("rope_parameters")
                                              : (config.has("rope_scaling") ? config.child("rope_scaling")
                                                                             : checkpoint::Config());
  const auto rope_get = [&](const char* key, double fallback) {
    return rope_cfg.json().is_object() && rope_cfg.has(key) ? rope_cfg.get<double>(key) : fallback;
  };
  c.rope_theta = rope_get("rope_theta", config.get_or<double>("rope_theta", 10000.0));
  c.partial_rotary_factor = rope_get("partial_rotary_factor", config.get_or<double>("partial_rotary_factor", 1.0));
  if (!(c.rope_theta > 0)) fail(config.where("rope_theta"), "must be positive");
  if (!(c.partial_rotary_factor > 0 && c.partial_rotary_factor <= 1))
    fail(config.where("partial_rotary_factor"), "must be in (0, 1]");
  // int(head_dim * partial_rotary_factor), Python's truncation.
  c.rotary_dim = static_cast<int>(c.head_dim * c.partial_rotary_factor);
  if (c.rotary_dim <= 0 || c.rotary_dim % 2 != 0)
    fail(config.where("partial_rotary_factor"),
         "gives a rotary dimension of " + std::to_string(c.rotary_dim) + " (must be positive and even)");

  if (rope_cfg.json().is_object()) {
    std::string type = rope_cfg.json().contains("rope_type") ? rope_cfg.get<std::string>("rope_type")
                                                             : rope_cfg.get_or<std::string>("type", "default");
    if (type == "su" || type == "yarn") type = "longrope";  // Phi-3's old names (Phi4MultimodalConfig maps them)
    if (type == "longrope") {
      c.rope.enabled = true;
      c.rope.short_factor = factors(rope_cfg, "short_factor", c.rotary_dim / 2);
      c.rope.long_factor = factors(rope_cfg, "long_factor", c.rotary_dim / 2);
      // The top-level key wins (_compute_longrope_parameters: factor = max / original when it is set).
      c.rope.original_max = config.has("original_max_position_embeddings")
                                ? config.get<int>("original_max_position_embeddings")
                                : static_cast<int>(rope_get("original_max_position_embeddings", c.max_positions));
      if (c.rope.original_max <= 0) fail(config.where("original_max_position_embeddings"), "must be positive");
      if (rope_cfg.has("attention_factor")) {
        c.rope.attention_factor = rope_cfg.get<double>("attention_factor");
      } else {
        const double factor = static_cast<double>(c.max_positions) / c.rope.original_max;
        c.rope.attention_factor = factor <= 1.0 ? 1.0 : std::sqrt(1.0 + std::log(factor) / std::log(double(c.rope.original_max)));
      }
    } else if (type != "default") {
      fail(rope_cfg.file() + ": key '" + (nested ? "rope_parameters" : "rope_scaling") + "'",
           "rope type '" + type + "' is not supported for phi4mm (longrope or default)");
    }
  }

  if (config.has("vision_lora")) {
    const auto lora = config.child("vision_lora");
    c.vision_lora_r = lora.get<int>("r");
    c.vision_lora_alpha = lora.get<double>("lora_alpha");
    if (c.vision_lora_r <= 0) fail(lora.where("r"), "must be positive");
  }
  if (config.has("vision_config") && config.child("vision_config").has("image_token_id"))
    c.image_token_id = config.child("vision_config").get<int>("image_token_id");
  return c;
}

}  // namespace mechlens::models::phi4mm
