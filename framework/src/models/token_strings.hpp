#pragma once
// Id → token string, the same rule for every adapter (Model::token_string).
#include <cstdint>
#include <string>

#include "mechlens/error.hpp"

namespace mechlens::models {

// Ids the tokenizer knows give its spelling. Ids past the tokenizer but
// inside the model's vocabulary are embedding rows no text produces (Qwen2
// pads its 151,665 tokens to 151,936 rows) yet a lens or a top-k can land on
// them: they read "<id N>". Anything else is an error naming the family.
template <typename Tokenizer>
std::string token_string_of(const Tokenizer& tokenizer, std::int64_t id, std::int64_t model_vocab,
                            const std::string& family) {
  if (id >= 0 && static_cast<std::size_t>(id) < tokenizer.vocab_size()) return tokenizer.token(id);
  if (id >= 0 && id < model_vocab) return "<id " + std::to_string(id) + ">";
  fail(family, "token id " + std::to_string(id) + " outside the vocabulary of " + std::to_string(model_vocab));
}

}  // namespace mechlens::models
