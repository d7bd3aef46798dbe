#include "models/phi4mm/phi4mm_model.hpp"

#include <ATen/ATen.h>

#include <filesystem>

#include "mechlens/error.hpp"
#include "models/model_dtype.hpp"
#include "models/layers/hook_points.hpp"
#include "models/token_strings.hpp"
#include "vision/image.hpp"

namespace mechlens::models::phi4mm {
std::unique_ptr<Phi4mmModel> Phi4mmModel::load(const LoadOptions& options) {
  const LoraMode lora = parse_lora_mode(options.lora);
  std::unique_ptr<Phi4mmModel> m(new Phi4mmModel());
  m->options_ = at::TensorOptions().dtype(parse_model_dtype(options.dtype, "phi4mm", /*float16_allowed=*/true)).device(at::Device(options.device));
  m->lora_mode_ = lora;
  m->ckpt_ = std::make_shared<checkpoint::Checkpoint>(checkpoint::Checkpoint::open(options.path));
  const checkpoint::Checkpoint& ckpt = *m->ckpt_;
  Phi4mmConfig config = Phi4mmConfig::from(ckpt.config());

  checkpoint::TensorTable table = phi4mm_decoder_table(config, config.vision_lora_r);
  // The image encoder (phi4mm_image_encoder.hpp), validated with the rest,
  // when the checkpoint has one.
  std::optional<Phi4mmImageConfig> image_config;
  if (ckpt.has("model.embed_tokens_extend.image_embed.img_processor.embeddings.patch_embedding.weight")) {
    image_config = Phi4mmImageConfig::from(ckpt.config(), ckpt.directory());
    table.include(image_encoder_table(*image_config));
  } else {
    table.ignore("model.embed_tokens_extend.image_embed.*");
  }
  const checkpoint::TensorSet tensors = table.resolve(ckpt);
  if (image_config) m->image_encoder_ = Phi4mmImageEncoder::load(tensors, *image_config, m->options_);
  Phi4mmWeights weights = load_phi4mm_weights(tensors, config, m->options_, lora);
  m->decoder_ = Phi4mmDecoder(std::move(config), std::move(weights));

  m->tokenizer_ = std::make_shared<tokenize::BytePairEncoding>(load_phi4mm_tokenizer(options.path));
  m->tokens_ = phi4mm::chat_tokens(*m->tokenizer_);
  const auto& cfg = m->decoder_.config();
  if (ckpt.config().has("vision_config") && ckpt.config().child("vision_config").has("image_token_id") &&
      cfg.image_token_id != m->tokens_.image)
    fail(ckpt.config().where("vision_config.image_token_id"),
         std::to_string(cfg.image_token_id) + " but tokenizer.json's image token '" +
             m->tokenizer_->token(m->tokens_.image) + "' is " + std::to_string(m->tokens_.image));
  if (static_cast<std::int64_t>(m->tokenizer_->vocab_size()) > cfg.vocab_size)
    fail(ckpt.config().where("vocab_size"), std::to_string(cfg.vocab_size) + " is smaller than tokenizer.json's " +
                                                std::to_string(m->tokenizer_->vocab_size()) + " tokens");

  const Phi4mmWeights& w = m->decoder_.weights();
  m->identity_ = ckpt.identity(std::string("hf-phi4mm/") + to_string(w.layout) + "/lora-" +
                               (w.has_vision_lora ? to_string(lora) : "none"));
  if (w.layout == Layout::native && w.has_vision_lora)
    m->identity_.files.push_back("vision-lora/adapter_model.safetensors");
  return m;
}

std::vector<HookPoint> Phi4mmModel::hook_points() const {
  std::vector<HookPoint> points = {layers::residual_hook("hook_embed"), layers::residual_hook("hook_inputs_embeds")};
  for (auto& p : decoder_.hook_points()) points.push_back(std::move(p));
  if (image_encoder_)
    for (auto& p : image_encoder_->hook_points()) points.push_back(std::move(p));
  return points;
}

EncodedInput Phi4mmModel::encode(const InputSpec& input) const {
  const std::string where = input.id.empty() ? "input" : "input '" + input.id + "'";
  refuse_audio(input, tokens_, *tokenizer_);
  if (input.text.find(tokenizer_->token(tokens_.image)) != std::string::npos)
    fail(where, "the text contains the image token '" + tokenizer_->token(tokens_.image) +
                    "'; the adapter places it (give the image as `image`)");
  EncodedInput out = encode_phi4mm_chat(*tokenizer_, input.text);
  out.spec = input;
  if (input.image) {
    // "<|user|><|image_1|>" + text + "<|end|><|assistant|>": the processor
    // replaces <|image_1|> by the image token num_img_tokens times (the HD
    // transform's count), right after <|user|>.
    if (!image_encoder_)
      fail(where, "phi4mm: this checkpoint has no image encoder (no model.embed_tokens_extend.image_embed.* tensors)");
    const PreparedImage image = prepare_image(vision::decode_image(*input.image), image_encoder_->config());
    const auto after_user = static_cast<std::ptrdiff_t>(tokenizer_->encode("<|user|>").ids.size());
    const auto n = static_cast<std::size_t>(image.tokens());
    out.ids.insert(out.ids.begin() + after_user, n, tokens_.image);
    out.tokens.insert(out.tokens.begin() + after_user, n, std::string());
    out.annotations.insert(out.annotations.begin() + after_user, image.annotations.begin(), image.annotations.end());
    out.answer_position = static_cast<std::int64_t>(out.ids.size()) - 1;
    const HdGeometry& g = image.pixels.geometry;
    out.extras["pixel_values"] = image.pixels.pixel_values;
    out.extras["patch_mask"] = image.pixels.patch_mask;
    out.extras["image_size"] = at::tensor(std::vector<std::int64_t>{g.height, g.width}, at::kLong);
  }
  for (std::size_t i = 0; i < out.ids.size(); ++i) out.tokens[i] = token_string(out.ids[i]);
  return out;
}

EncodedInput Phi4mmModel::encode_raw(const std::string& text) const { return encode_phi4mm_text(*tokenizer_, text); }

std::string Phi4mmModel::token_string(std::int64_t id) const {
  return token_string_of(*tokenizer_, id, geometry().vocab_size, "phi4mm");
}

LoraRows Phi4mmModel::lora_rows(const Batch& batch) const {
  LoraRows rows;
  const std::int64_t b = batch.ids.defined() ? batch.ids.size(0) : static_cast<std::int64_t>(batch.inputs.size());
  std::vector<bool> image(static_cast<std::size_t>(b), false);
  std::size_t with = 0;
  for (std::int64_t i = 0; i < b; ++i) {
    const EncodedInput* in = static_cast<std::size_t>(i) < batch.inputs.size() ? batch.inputs[i] : nullptr;
    image[i] = in && in->spec.image.has_value();
    with += image[i];
  }
  if (with == 0) return rows;  // text only: the base weights, as Phi4MMForCausalLM unsets every adapter
  rows.active = true;
  if (with == image.size()) return rows;
  at::Tensor mask = at::zeros({b, 1, 1}, at::TensorOptions().dtype(at::kBool));
  for (std::int64_t i = 0; i < b; ++i) mask[i] = static_cast<bool>(image[i]);
  rows.mask = mask.to(options_.device());
  return rows;
}

at::Tensor Phi4mmModel::embed(const Batch& batch, const HookSet* hooks) const {
  const HookScope scope(hooks, "");
  at::Tensor x = scope("hook_embed", decoder_.embed_tokens(batch.ids));
  // Rows with image tokens get their image's encoder rows there, in order
  // (Phi4MMImageEmbedding's index_put at the image token positions).
  const at::Tensor is_image = batch.ids.to(at::kLong).eq(tokens_.image);
  if (!is_image.any().item<bool>()) return scope("hook_inputs_embeds", std::move(x));
  if (!image_encoder_) fail("phi4mm", "the batch holds image tokens but the checkpoint has no image encoder");
  if (x.size(0) != is_image.size(0)) fail("hook_embed", "a write hook changed the batch; images cannot be placed");
  x = x.clone();  // never write into a tensor a hook may still hold
  for (std::int64_t b = 0; b < is_image.size(0); ++b) {
    if (!is_image[b].any().item<bool>()) continue;
    const EncodedInput* in = static_cast<std::size_t>(b) < batch.inputs.size() ? batch.inputs[b] : nullptr;
    if (!in || !in->extras.count("pixel_values") || !in->extras.count("patch_mask") || !in->extras.count("image_size"))
      fail("phi4mm", "batch row " + std::to_string(b) + " has image tokens but no encoded image");
    const at::Tensor size = in->extras.at("image_size");
    const HdGeometry g = hd_geometry(static_cast<int>(size[1].item<std::int64_t>()),
                                     static_cast<int>(size[0].item<std::int64_t>()), image_encoder_->config().hd);
    const at::Tensor rows = image_encoder_->features(in->extras.at("pixel_values").to(options_.device()),
                                                     in->extras.at("patch_mask"), g, hooks);
    const at::Tensor positions = is_image[b].nonzero().squeeze(1).to(x.device());
    if (positions.size(0) != rows.size(0))
      fail("input '" + in->spec.id + "'", "image rows and image tokens do not match: " + std::to_string(positions.size(0)) +
                                              " tokens, " + std::to_string(rows.size(0)) + " rows");
    x[b].index_copy_(0, positions, rows.to(x.scalar_type()));
  }
  return scope("hook_inputs_embeds", std::move(x));
}

at::Tensor Phi4mmModel::run_blocks(at::Tensor residual, const Batch& batch, int first, int last,
                                   const HookSet* hooks) const {
  return decoder_.run_blocks(std::move(residual), batch.attention_mask, lora_rows(batch), first, last, hooks);
}

at::Tensor Phi4mmModel::unembed(const at::Tensor& residual, const HookSet* hooks) const {
  return decoder_.unembed(residual, hooks);
}

}  // namespace mechlens::models::phi4mm
