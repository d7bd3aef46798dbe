// Prompts → token ids for BERT.
#include "mechlens/error.hpp"
#include "models/bert/bert_model.hpp"
#include "models/token_strings.hpp"

namespace mechlens::models::bert {

EncodedInput BertModel::finish(tokenize::Encoding encoding, bool with_specials) const {
  return finish_bert_encoding(*tokenizer_, std::move(encoding), with_specials);
}

EncodedInput finish_bert_encoding(const tokenize::WordPiece& tokenizer, tokenize::Encoding encoding,
                                  bool with_specials) {
  EncodedInput out;
  out.ids = std::move(encoding.ids);
  out.tokens = std::move(encoding.tokens);
  out.annotations.assign(out.ids.size(), TokenAnnotation{});
  if (with_specials && !out.ids.empty()) {
    // Only the tokens the template added are "special"; a [MASK] or [SEP]
    // the user wrote is part of the text.
    out.annotations.front().modality = Modality::special;
    out.annotations.back().modality = Modality::special;
  }
  const auto mask = tokenizer.find("[MASK]");
  for (std::size_t i = 0; i < out.ids.size() && mask; ++i)
    if (out.ids[i] == *mask) {
      out.answer_position = static_cast<std::int64_t>(i);
      break;
    }
  if (out.answer_position < 0) out.answer_position = static_cast<std::int64_t>(out.ids.size()) - 1;
  return out;
}

EncodedInput BertModel::encode(const InputSpec& input) const {
  if (input.image) fail(input.id.empty() ? "input" : "input '" + input.id + "'", "bert takes text only, not an image");
  EncodedInput out = finish(tokenizer_->encode_with_specials(input.text), true);
  out.spec = input;
  return out;
}

EncodedInput BertModel::encode_raw(const std::string& text) const {
  EncodedInput out = finish(tokenizer_->encode(text), false);
  out.spec.text = text;
  return out;
}

std::string BertModel::token_string(std::int64_t id) const {
  return token_string_of(*tokenizer_, id, geometry().vocab_size, "bert");
}

}  // namespace mechlens::models::bert
