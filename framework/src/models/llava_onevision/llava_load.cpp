// Loading a LLaVA-OneVision checkpoint directory (listed as
// "llava_onevision" in models/adapters.cpp).
#include <ATen/ATen.h>

#include "mechlens/error.hpp"
#include "models/llava_onevision/llava_inputs.hpp"
#include "models/llava_onevision/llava_model.hpp"
#include "models/qwen2/qwen2_tokenizer.hpp"

namespace mechlens::models::llava_onevision {
namespace {

at::ScalarType parse_dtype(const std::string& name) {
  if (name == "float32" || name == "fp32") return at::kFloat;
  if (name == "bfloat16" || name == "bf16") return at::kBFloat16;
  if (name == "float64" || name == "fp64") return at::kDouble;
  // float16 as the seeds ran on GPU (device = "cuda"); most CPU kernels of libtorch 1.13 lack it.
  if (name == "float16" || name == "fp16") return at::kHalf;
  fail("model.dtype", "'" + name + "' is not supported for llava_onevision (float32, bfloat16, float16, float64)");
}

}  // namespace

LlavaOnevisionModel::~LlavaOnevisionModel() = default;

std::unique_ptr<LlavaOnevisionModel> LlavaOnevisionModel::load(const LoadOptions& options) {
  std::unique_ptr<LlavaOnevisionModel> m(new LlavaOnevisionModel());
  m->options_ = at::TensorOptions().dtype(parse_dtype(options.dtype)).device(at::Device(options.device));
  m->ckpt_ = std::make_shared<checkpoint::Checkpoint>(checkpoint::Checkpoint::open(options.path));
  const checkpoint::Checkpoint& ckpt = *m->ckpt_;
  const auto model_type = ckpt.config().get<std::string>("model_type");
  if (model_type != "llava_onevision")
    fail(ckpt.config().where("model_type"), "'" + model_type + "' is not llava_onevision");
  m->config_ = LlavaConfig::from(ckpt.config());
  m->layout_ = &detect_layout(ckpt);
  const LlavaLayout& layout = *m->layout_;

  m->decoder_ = qwen2::Qwen2Decoder::load(ckpt, m->config_.text_json, m->options_,
                                          {layout.language_model, {layout.lm_head}});
  const int vision_layers = m->config_.vision_layers_needed();
  m->tower_ = siglip::SiglipTower::load(ckpt, m->config_.vision, vision_layers, m->options_, layout.vision_tower);
  m->projector_ = load_projector(ckpt, m->config_, layout, m->options_);
  m->image_newline_ = ckpt.load(layout.image_newline, {m->config_.text.hidden_size}, m->options_);
  ckpt.require_all_used(siglip::siglip_unused_tensors(layout.vision_tower, vision_layers, m->config_.vision.num_layers));

  m->tokenizer_ = std::make_shared<tokenize::BytePairEncoding>(qwen2::load_qwen2_tokenizer(options.path));
  m->processor_ = load_llava_processor(options.path, m->config_);
  m->identity_ = ckpt.identity("hf-llava-onevision");
  return m;
}

}  // namespace mechlens::models::llava_onevision
