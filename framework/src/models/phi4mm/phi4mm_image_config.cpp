#include "models/phi4mm/phi4mm_image_config.hpp"

#include <filesystem>

#include "mechlens/error.hpp"

namespace mechlens::models::phi4mm {

namespace {

// The tower modeling_phi4mm.py's get_siglip_vision_model builds.
siglip::SiglipConfig siglip_so400m_448() {
  siglip::SiglipConfig c;
  c.hidden_size = 1152;
  c.intermediate_size = 4304;
  c.num_layers = 27;
  c.num_heads = 16;
  c.num_channels = 3;
  c.image_size = 448;
  c.patch_size = 14;
  c.layer_norm_eps = 1e-6;
  c.hidden_act = layers::Activation::gelu_tanh;
  return c;
}

void require(const checkpoint::Config& layer, const std::string& key, const std::string& expected,
             const std::string& fallback) {
  const auto value = layer.get_or<std::string>(key, fallback);
  if (value != expected)
    fail(layer.where(key), "'" + value + "' is not supported (mechlens implements '" + expected + "', the released model's)");
}

}  // namespace

Phi4mmImageConfig Phi4mmImageConfig::from(const checkpoint::Config& config, const std::string& directory) {
  Phi4mmImageConfig c;
  c.d_model = config.get<std::int64_t>("hidden_size");
  const bool has_vision = config.has("vision_config");
  if (has_vision) {
    const checkpoint::Config v = config.child("vision_config");
    c.tower = siglip::SiglipConfig::from(v);
    c.feature_layer = v.get_or<int>("feature_layer", -2);
    c.hd.crop_size = v.get_or<int>("crop_size", c.tower.image_size);
  } else {
    c.tower = siglip_so400m_448();
    c.feature_layer = -2;
    if (config.has("img_processor") && config.json().at("img_processor").is_object())
      c.feature_layer = config.child("img_processor").get_or<int>("layer_idx", -2);
  }
  if (config.has("embd_layer") && config.child("embd_layer").has("image_embd_layer")) {
    const checkpoint::Config e = config.child("embd_layer").child("image_embd_layer");
    c.hd.crop_size = e.get_or<int>("crop_size", has_vision ? c.hd.crop_size : 336);  // remote code's default 336
    require(e, "hd_transform_order", "sub_glb", "glb_sub");
    require(e, "image_token_compression_cls", "avg_pool_2d", "");
    require(e, "projection_cls", "mlp", "linear");
    if (!e.get_or<bool>("use_hd_transform", false) || !e.get_or<bool>("with_learnable_separator", false))
      fail(e.where("use_hd_transform"), "use_hd_transform and with_learnable_separator must be true (the released model's)");
  } else if (!has_vision) {
    fail(config.where("embd_layer"), "missing: neither embd_layer.image_embd_layer nor vision_config (no image encoder)");
  }
  c.hd.patch_size = c.tower.patch_size;
  if (c.hd.crop_size != c.tower.image_size)
    fail(config.where("embd_layer.image_embd_layer.crop_size"),
         std::to_string(c.hd.crop_size) + " differs from the tower's image size " + std::to_string(c.tower.image_size));
  if (c.hidden_index() < 0 || c.hidden_index() > c.tower.num_layers)
    fail(config.where(has_vision ? "vision_config.feature_layer" : "img_processor.layer_idx"),
         std::to_string(c.feature_layer) + " is outside the tower's " + std::to_string(c.tower.num_layers) + " layers");
  c.image_token_id = has_vision ? config.child("vision_config").get_or<std::int64_t>("image_token_id", 200010) : 200010;

  const std::filesystem::path pre = std::filesystem::path(directory) / "preprocessor_config.json";
  if (std::filesystem::exists(pre)) {
    const checkpoint::Config p = checkpoint::Config::load(pre.string());
    c.hd.dynamic_hd = p.get_or<int>("dynamic_hd", 36);
    if (c.hd.dynamic_hd <= 0) fail(p.where("dynamic_hd"), "must be positive");
  }
  return c;
}

}  // namespace mechlens::models::phi4mm
