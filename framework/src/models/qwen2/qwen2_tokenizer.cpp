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

}  // namespace mechlens::models::qwen2
