#include "models/llava_onevision/llava_weights.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"

namespace mechlens::models::llava_onevision {
namespace {

constexpr LlavaLayout kLayouts[] = {
    {"hub", "language_model.model.", "language_model.lm_head.weight", "vision_tower.vision_model.",
     "multi_modal_projector.", "image_newline"},
    {"transformers>=4.52", "model.language_model.", "lm_head.weight", "model.vision_tower.vision_model.",
     "model.multi_modal_projector.", "model.image_newline"},
};

}  // namespace

const LlavaLayout& detect_layout(const checkpoint::Checkpoint& ckpt) {
  std::string tried;
  for (const auto& layout : kLayouts) {
    const std::string probe = std::string(layout.language_model) + "embed_tokens.weight";
    if (ckpt.has(probe)) return layout;
    tried += (tried.empty() ? "'" : "' nor '") + probe;
  }
  fail(ckpt.directory(), "not a LLaVA-OneVision checkpoint: neither " + tried + "' found");
}

at::Tensor Projector::operator()(const at::Tensor& x) const { return linear_2(layers::activate(act, linear_1(x))); }

checkpoint::TensorTable projector_tensor_table(const LlavaConfig& config, const LlavaLayout& layout) {
  // LlavaOnevisionMultiModalProjector: in = vision hidden * number of feature layers.
  const std::int64_t in = std::int64_t(config.vision.hidden_size) * config.feature_layers.size();
  const std::int64_t D = config.text.hidden_size;
  const std::string p = layout.projector;
  checkpoint::TensorTable t("llava_onevision projector");
  t.add(p + "linear_1.weight", {D, in});
  t.add(p + "linear_2.weight", {D, D});
  if (config.projector_bias) {
    t.add(p + "linear_1.bias", {D});
    t.add(p + "linear_2.bias", {D});
  }
  t.add(layout.image_newline, {D});
  return t;
}

Projector load_projector(const checkpoint::TensorSet& t, const LlavaConfig& config, const LlavaLayout& layout,
                         const at::TensorOptions& options) {
  const std::string p = layout.projector;
  Projector proj;
  proj.act = config.projector_act;
  proj.linear_1.weight = t.load(p + "linear_1.weight", options);
  proj.linear_2.weight = t.load(p + "linear_2.weight", options);
  if (config.projector_bias) {
    proj.linear_1.bias = t.load(p + "linear_1.bias", options);
    proj.linear_2.bias = t.load(p + "linear_2.bias", options);
  }
  return proj;
}

}  // namespace mechlens::models::llava_onevision
