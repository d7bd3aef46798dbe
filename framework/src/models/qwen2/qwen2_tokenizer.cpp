#include "models/qwen2/qwen2_tokenizer.hpp"

#include <filesystem>

#include "mechlens/error.hpp"

namespace mechlens::models::qwen2 {

tokenize::BytePairEncoding load_qwen2_tokenizer(const std::string& directory) {
  const auto path = std::filesystem::path(directory) / "tokenizer.json";
  if (!std::filesystem::exists(path))
    fail(directory, "no tokenizer.json (the fast-tokenizer file; vocab.json + merges.txt alone are not read)");
  return tokenize::BytePairEncoding::from_tokenizer_json(path.string());
}

EncodedInput encode_qwen2_text(const tokenize::BytePairEncoding& tokenizer, const std::string& text) {
  tokenize::Encoding encoding = tokenizer.encode(text);
  EncodedInput out;
  out.spec.text = text;
  out.ids = std::move(encoding.ids);
  out.tokens = std::move(encoding.tokens);
  for (std::int64_t id : out.ids)
    out.annotations.push_back({tokenizer.is_special(id) ? Modality::special : Modality::text});
  out.answer_position = static_cast<std::int64_t>(out.ids.size()) - 1;
  return out;
}

}  // namespace mechlens::models::qwen2
