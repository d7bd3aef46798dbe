#include "models/qwen2/qwen2_model.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"
#include "models/model_dtype.hpp"
#include "models/layers/hook_points.hpp"
#include "models/qwen2/qwen2_tokenizer.hpp"
#include "models/token_strings.hpp"

namespace mechlens::models::qwen2 {
std::unique_ptr<Qwen2Model> Qwen2Model::load(const LoadOptions& options) {
  std::unique_ptr<Qwen2Model> m(new Qwen2Model());
  m->options_ = at::TensorOptions().dtype(parse_model_dtype(options.dtype, "qwen2", /*float16_allowed=*/true)).device(at::Device(options.device));
  m->ckpt_ = std::make_shared<checkpoint::Checkpoint>(checkpoint::Checkpoint::open(options.path));
  const auto& ckpt = *m->ckpt_;
  Qwen2Config config = Qwen2Config::from(ckpt.config());
  const Qwen2Names names{"model.", {"lm_head.weight"}};
  // The whole file against the table: every missing, mis-shaped or extra tensor in one error.
  const checkpoint::TensorSet tensors = qwen2_tensor_table(config, names).resolve(ckpt);
  Qwen2Weights weights = load_qwen2_weights(tensors, config, m->options_, names);
  m->decoder_ = Qwen2Decoder(std::move(config), std::move(weights));
  m->tokenizer_ = std::make_shared<tokenize::BytePairEncoding>(load_qwen2_tokenizer(options.path));
  m->identity_ = ckpt.identity("hf-qwen2");
  return m;
}

std::vector<HookPoint> Qwen2Model::hook_points() const {
  std::vector<HookPoint> points = {layers::residual_hook("hook_embed"), layers::residual_hook("hook_inputs_embeds")};
  for (auto& p : decoder_.hook_points()) points.push_back(std::move(p));
  return points;
}

EncodedInput Qwen2Model::encode(const InputSpec& input) const {
  if (input.image) fail(input.id.empty() ? "input" : "input '" + input.id + "'", "qwen2 takes text only, not an image");
  EncodedInput out = encode_raw(input.text);
  out.spec = input;
  return out;
}

EncodedInput Qwen2Model::encode_raw(const std::string& text) const { return encode_qwen2_text(*tokenizer_, text); }

std::string Qwen2Model::token_string(std::int64_t id) const {
  return token_string_of(*tokenizer_, id, geometry().vocab_size, "qwen2");
}

at::Tensor Qwen2Model::embed(const Batch& batch, const HookSet* hooks) const {
  const HookScope scope(hooks, "");
  at::Tensor x = scope("hook_embed", decoder_.embed_tokens(batch.ids));
  return scope("hook_inputs_embeds", std::move(x));
}

at::Tensor Qwen2Model::run_blocks(at::Tensor residual, const Batch& batch, int first, int last,
                                  const HookSet* hooks) const {
  return decoder_.run_blocks(std::move(residual), batch.attention_mask, first, last, hooks);
}

at::Tensor Qwen2Model::unembed(const at::Tensor& residual, const HookSet* hooks) const {
  return decoder_.unembed(residual, hooks);
}

}  // namespace mechlens::models::qwen2
