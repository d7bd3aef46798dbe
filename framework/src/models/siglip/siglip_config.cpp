#include "models/siglip/siglip_config.hpp"

#include "mechlens/error.hpp"

namespace mechlens::models::siglip {

SiglipConfig SiglipConfig::from(const checkpoint::Config& config) {
  SiglipConfig c;
  // SiglipVisionConfig's defaults (a config may leave them out).
  c.hidden_size = config.get_or<int>("hidden_size", 768);
  c.intermediate_size = config.get_or<int>("intermediate_size", 3072);
  c.num_layers = config.get_or<int>("num_hidden_layers", 12);
  c.num_heads = config.get_or<int>("num_attention_heads", 12);
  c.num_channels = config.get_or<int>("num_channels", 3);
  c.image_size = config.get_or<int>("image_size", 224);
  c.patch_size = config.get_or<int>("patch_size", 16);
  c.layer_norm_eps = config.get_or<double>("layer_norm_eps", 1e-6);
  c.hidden_act = layers::parse_activation(config.get_or<std::string>("hidden_act", "gelu_pytorch_tanh"),
                                          config.where("hidden_act"));
  const auto positive = [&](const char* key, int value) {
    if (value <= 0) fail(config.where(key), "must be positive, got " + std::to_string(value));
  };
  positive("hidden_size", c.hidden_size);
  positive("intermediate_size", c.intermediate_size);
  positive("num_hidden_layers", c.num_layers);
  positive("num_attention_heads", c.num_heads);
  positive("num_channels", c.num_channels);
  positive("image_size", c.image_size);
  positive("patch_size", c.patch_size);
  if (c.hidden_size % c.num_heads != 0)
    fail(config.where("hidden_size"), std::to_string(c.hidden_size) + " is not a multiple of num_attention_heads " +
                                          std::to_string(c.num_heads));
  if (c.image_size < c.patch_size)
    fail(config.where("image_size"), std::to_string(c.image_size) + " is smaller than patch_size " + std::to_string(c.patch_size));
  return c;
}

}  // namespace mechlens::models::siglip
