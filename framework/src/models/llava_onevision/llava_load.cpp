// Loading a LLaVA-OneVision checkpoint directory (listed as
// "llava_onevision" in models/adapters.cpp).
#include <ATen/ATen.h>

#include "mechlens/error.hpp"
#include "models/model_dtype.hpp"
#include "models/llava_onevision/llava_inputs.hpp"
#include "models/llava_onevision/llava_model.hpp"
#include "models/qwen2/qwen2_tokenizer.hpp"
#include "models/siglip/siglip_tensors.hpp"

namespace mechlens::models::llava_onevision {
LlavaOnevisionModel::~LlavaOnevisionModel() = default;

std::unique_ptr<LlavaOnevisionModel> LlavaOnevisionModel::load(const LoadOptions& options) {
  std::unique_ptr<LlavaOnevisionModel> m(new LlavaOnevisionModel());
  m->options_ = at::TensorOptions().dtype(parse_model_dtype(options.dtype, "llava_onevision", /*float16_allowed=*/true)).device(at::Device(options.device));
  m->ckpt_ = std::make_shared<checkpoint::Checkpoint>(checkpoint::Checkpoint::open(options.path));
  const checkpoint::Checkpoint& ckpt = *m->ckpt_;
  const auto model_type = ckpt.config().get<std::string>("model_type");
  if (model_type != "llava_onevision")
    fail(ckpt.config().where("model_type"), "'" + model_type + "' is not llava_onevision");
  m->config_ = LlavaConfig::from(ckpt.config());
  m->layout_ = &detect_layout(ckpt);
  const LlavaLayout& layout = *m->layout_;

  // One table for the whole file (decoder + tower + projector): every missing,
  // mis-shaped or extra tensor in one error.
  qwen2::Qwen2Config text = qwen2::Qwen2Config::from(m->config_.text_json);
  const qwen2::Qwen2Names names{layout.language_model, {layout.lm_head}};
  const int vision_layers = m->config_.vision_layers_needed();
  checkpoint::TensorTable table("llava_onevision");
  table.include(qwen2::qwen2_tensor_table(text, names))
      .include(siglip::siglip_tensor_table(m->config_.vision, vision_layers, layout.vision_tower))
      .include(projector_tensor_table(m->config_, layout));
  const checkpoint::TensorSet tensors = table.resolve(ckpt);

  qwen2::Qwen2Weights weights = qwen2::load_qwen2_weights(tensors, text, m->options_, names);
  m->decoder_ = qwen2::Qwen2Decoder(std::move(text), std::move(weights));
  m->tower_ = siglip::load_siglip_tower(tensors, m->config_.vision, vision_layers, m->options_, layout.vision_tower);
  m->projector_ = load_projector(tensors, m->config_, layout, m->options_);
  m->image_newline_ = tensors.load(layout.image_newline, m->options_);

  m->tokenizer_ = std::make_shared<tokenize::BytePairEncoding>(qwen2::load_qwen2_tokenizer(options.path));
  m->processor_ = load_llava_processor(options.path, m->config_);
  m->identity_ = ckpt.identity("hf-llava-onevision");
  return m;
}

}  // namespace mechlens::models::llava_onevision
