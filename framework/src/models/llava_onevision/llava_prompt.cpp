// Prompts → token ids for LLaVA-OneVision: the chat template, the image
// placeholder expanded to the packed feature count, and the annotations.
#include <ATen/ATen.h>

#include <filesystem>

#include "mechlens/error.hpp"
#include "models/llava_onevision/llava_inputs.hpp"
#include "models/llava_onevision/llava_model.hpp"
#include "models/llava_onevision/llava_patch_extents.hpp"
#include "models/qwen2/qwen2_tokenizer.hpp"
#include "models/token_strings.hpp"

namespace mechlens::models::llava_onevision {
namespace {

const char* const kImageToken = "<image>";

// The checkpoint's chat template (chat_template.json of
// llava-hf/llava-onevision-qwen2-0.5b-ov-hf) for one user message with an
// optional image and add_generation_prompt=True:
//   '<|im_start|>' + role + ' '  ·  '<image>' per image  ·  '\n' + text  ·  '<|im_end|>\n'
//   then '<|im_start|>assistant\n'
// Split in three so that the user's text can be annotated apart from the template.
struct PromptParts {
  std::string head;  // "<|im_start|>user " [+ "<image>"]
  std::string text;  // "\n" + user text
  std::string tail;  // "<|im_end|>\n<|im_start|>assistant\n"
};

PromptParts prompt_parts(const std::string& text, bool with_image) {
  return {std::string("<|im_start|>user ") + (with_image ? kImageToken : ""), "\n" + text,
          "<|im_end|>\n<|im_start|>assistant\n"};
}

}  // namespace

std::unique_ptr<LlavaOnevisionModel> LlavaOnevisionModel::load_encoder(const std::string& directory) {
  std::unique_ptr<LlavaOnevisionModel> m(new LlavaOnevisionModel());
  const std::string file = (std::filesystem::path(directory) / "config.json").string();
  const checkpoint::Config config = checkpoint::Config::load(file);
  const auto model_type = config.get<std::string>("model_type");
  if (model_type != "llava_onevision") fail(config.where("model_type"), "'" + model_type + "' is not llava_onevision");
  m->config_ = LlavaConfig::from(config);
  m->tokenizer_ = std::make_shared<tokenize::BytePairEncoding>(qwen2::load_qwen2_tokenizer(directory));
  m->processor_ = load_llava_processor(directory, m->config_);
  return m;
}

std::string LlavaOnevisionModel::prompt(const std::string& text, bool with_image) {
  const PromptParts p = prompt_parts(text, with_image);
  return p.head + p.text + p.tail;
}

EncodedInput LlavaOnevisionModel::encode(const InputSpec& input) const {
  const std::string where = input.id.empty() ? "input" : "input '" + input.id + "'";
  if (!tokenizer_) fail(where, "llava_onevision: no tokenizer loaded");
  if (input.text.find(kImageToken) != std::string::npos)
    fail(where, "the text contains the image placeholder '<image>'; the chat template places it (give the image as `image`)");
  const bool with_image = input.image.has_value();
  const PromptParts parts = prompt_parts(input.text, with_image);
  // HF tokenizes the whole prompt at once; that is what the model sees.
  std::vector<std::int64_t> ids = tokenizer_->encode(parts.head + parts.text + parts.tail).ids;

  // Annotations: the user's text is "text" when tokenizing the parts alone
  // gives the same ids (it does unless BPE merges across a boundary); the
  // rest is template ("special"); <image> tokens are image tokens.
  std::vector<TokenAnnotation> annotations(ids.size(), TokenAnnotation{Modality::special});
  {
    const auto head = tokenizer_->encode(parts.head).ids, text = tokenizer_->encode(parts.text).ids,
               tail = tokenizer_->encode(parts.tail).ids;
    std::vector<std::int64_t> joined = head;
    joined.insert(joined.end(), text.begin(), text.end());
    joined.insert(joined.end(), tail.begin(), tail.end());
    if (joined == ids) {
      for (std::size_t i = head.size(); i < head.size() + text.size(); ++i) annotations[i].modality = Modality::text;
    } else {
      const auto im_start = tokenizer_->find("<|im_start|>"), im_end = tokenizer_->find("<|im_end|>");
      for (std::size_t i = 0; i < ids.size(); ++i)
        if ((!im_start || ids[i] != *im_start) && (!im_end || ids[i] != *im_end)) annotations[i].modality = Modality::text;
    }
  }

  EncodedInput out;
  out.spec = input;
  std::size_t placeholders = 0;
  for (std::int64_t id : ids) placeholders += id == config_.image_token_id;
  if (placeholders != (with_image ? 1u : 0u))
    fail(where, "the prompt has " + std::to_string(placeholders) + " image placeholder tokens (id " +
                    std::to_string(config_.image_token_id) + "), expected " + (with_image ? "1" : "0") +
                    ": does tokenizer.json's '<image>' match config.json's image_token_index?");
  if (with_image) {
    if (!processor_) fail(where, "llava_onevision: no image processor loaded");
    const PreprocessedImage image = processor_->preprocess(*input.image);
    const PackLayout layout = pack_layout_for(image.height, image.width);
    if (image.pixel_values.size(0) != 1 + layout.tiles())
      fail(*input.image, "the processor made " + std::to_string(image.pixel_values.size(0)) + " crops, the model expects " +
                             std::to_string(1 + layout.tiles()) + " (base + " + std::to_string(layout.tiles()) + " tiles)");
    // The processor's count rule and the model's packing must agree, or HF itself would refuse the input.
    if (image.expected_tokens >= 0 && image.expected_tokens != layout.tokens())
      fail(*input.image, "image-token count: processor rule " + std::to_string(image.expected_tokens) +
                             ", model packing " + std::to_string(layout.tokens()));
    auto image_annotations = pack_annotations(layout);
    if (image.tile > 0)  // a processor that reports its canvas (tests may stub one that does not)
      set_patch_extents(image_annotations, layout,
                        {image.height, image.width, image.resized_height, image.resized_width, image.pad_top,
                         image.pad_left, image.tile},
                        config_.vision.image_size, config_.vision.patch_size);
    std::vector<std::int64_t> expanded;
    std::vector<TokenAnnotation> expanded_annotations;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] == config_.image_token_id) {
        expanded.insert(expanded.end(), image_annotations.size(), config_.image_token_id);
        expanded_annotations.insert(expanded_annotations.end(), image_annotations.begin(), image_annotations.end());
      } else {
        expanded.push_back(ids[i]);
        expanded_annotations.push_back(annotations[i]);
      }
    }
    ids = std::move(expanded);
    annotations = std::move(expanded_annotations);
    out.extras["pixel_values"] = image.pixel_values;
    out.extras["image_size"] = at::tensor(std::vector<std::int64_t>{image.height, image.width}, at::kLong);
  }
  out.ids = std::move(ids);
  out.annotations = std::move(annotations);
  for (std::int64_t id : out.ids) out.tokens.push_back(token_string(id));
  out.answer_position = static_cast<std::int64_t>(out.ids.size()) - 1;
  return out;
}

EncodedInput LlavaOnevisionModel::encode_raw(const std::string& text) const {
  if (!tokenizer_) fail("llava_onevision", "no tokenizer loaded");
  EncodedInput out;
  out.spec.text = text;
  out.ids = tokenizer_->encode(text).ids;
  for (std::int64_t id : out.ids) {
    out.tokens.push_back(token_string(id));
    out.annotations.push_back({id == config_.image_token_id ? Modality::image
                               : tokenizer_->is_special(id) ? Modality::special
                                                            : Modality::text});
  }
  out.answer_position = static_cast<std::int64_t>(out.ids.size()) - 1;
  return out;
}

std::string LlavaOnevisionModel::token_string(std::int64_t id) const {
  if (!tokenizer_) fail("llava_onevision", "no tokenizer loaded");
  return token_string_of(*tokenizer_, id, config_.text.vocab_size, "llava_onevision");
}

}  // namespace mechlens::models::llava_onevision
