#include "models/llava_onevision/llava_config.hpp"

#include <algorithm>

#include "mechlens/error.hpp"

namespace mechlens::models::llava_onevision {

int LlavaConfig::vision_layers_needed() const { return *std::max_element(feature_layers.begin(), feature_layers.end()); }

LlavaConfig LlavaConfig::from(const checkpoint::Config& config) {
  LlavaConfig c;
  c.text_json = config.child("text_config");
  c.text = qwen2::Qwen2Config::from(c.text_json);
  c.vision = siglip::SiglipConfig::from(config.child("vision_config"));
  const auto text_type = c.text_json.get_or<std::string>("model_type", "qwen2");
  if (text_type != "qwen2") fail(c.text_json.where("model_type"), "'" + text_type + "': only a qwen2 language model is supported");

  if (config.has("image_token_index")) c.image_token_id = config.get<std::int64_t>("image_token_index");
  else c.image_token_id = config.get_or<std::int64_t>("image_token_id", 151646);

  if (!config.has("image_grid_pinpoints")) fail(config.where("image_grid_pinpoints"), "missing");
  for (const auto& p : config.json().at("image_grid_pinpoints")) {
    if (!p.is_array() || p.size() != 2 || !p[0].is_number_integer() || !p[1].is_number_integer() ||
        p[0].get<int>() <= 0 || p[1].get<int>() <= 0)
      fail(config.where("image_grid_pinpoints"), "each entry must be [height, width] in pixels, got " + p.dump());
    c.grid_pinpoints.emplace_back(p[0].get<int>(), p[1].get<int>());
  }
  if (c.grid_pinpoints.empty()) fail(config.where("image_grid_pinpoints"), "is empty");

  // vision_feature_layer: an int or a list; negative counts from the end of
  // hidden_states, which has num_hidden_layers + 1 entries.
  const int n_states = c.vision.num_layers + 1;
  const auto resolve = [&](int layer) {
    const int resolved = layer < 0 ? n_states + layer : layer;
    if (resolved < 0 || resolved >= n_states)
      fail(config.where("vision_feature_layer"), std::to_string(layer) + " is outside the tower's " +
                                                     std::to_string(n_states) + " hidden states");
    return resolved;
  };
  const auto& layer_json = config.has("vision_feature_layer") ? config.json().at("vision_feature_layer") : nlohmann::json(-1);
  if (layer_json.is_array()) {
    for (const auto& l : layer_json) c.feature_layers.push_back(resolve(l.get<int>()));
  } else {
    c.feature_layers.push_back(resolve(config.get_or<int>("vision_feature_layer", -1)));
  }
  if (c.feature_layers.empty()) fail(config.where("vision_feature_layer"), "is empty");

  c.select_strategy = config.get_or<std::string>("vision_feature_select_strategy", "full");
  if (c.select_strategy != "full" && c.select_strategy != "default")
    fail(config.where("vision_feature_select_strategy"), "'" + c.select_strategy + "' (full, default)");
  const auto aspect = config.get_or<std::string>("vision_aspect_ratio", "anyres_max_9");
  const std::string prefix = "anyres_max_";
  try {
    if (aspect.rfind(prefix, 0) != 0) throw std::invalid_argument(aspect);
    c.max_num_patches = std::stoi(aspect.substr(prefix.size()));
  } catch (const std::exception&) {
    fail(config.where("vision_aspect_ratio"), "'" + aspect + "': expected anyres_max_N");
  }
  if (c.max_num_patches <= 0) fail(config.where("vision_aspect_ratio"), "N must be positive");
  c.projector_act = layers::parse_activation(config.get_or<std::string>("projector_hidden_act", "gelu"),
                                             config.where("projector_hidden_act"));
  c.projector_bias = config.get_or<bool>("multimodal_projector_bias", true);
  return c;
}

}  // namespace mechlens::models::llava_onevision
