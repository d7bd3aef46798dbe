#pragma once
// A small byte-level BPE tokenizer in the Hugging Face tokenizer.json layout
// of Qwen2 (NFC normaliser, the Qwen2 split regex, ByteLevel pre-tokenizer
// and decoder, BPE model with merges), trained here on a short built-in
// English corpus so that common words become single tokens. Used by the tiny
// Qwen2 and LLaVA-OneVision checkpoints.
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace mechlens::tiny {

struct TinyBpe {
  std::vector<std::string> vocab;                            // id → token (byte-level spelling)
  std::vector<std::pair<std::string, std::string>> merges;   // in rank order
};

// The 256 byte tokens (GPT-2's bytes_to_unicode order, as Qwen's first 256
// ids) plus up to `n_merges` merges learned from the built-in corpus.
TinyBpe train_tiny_bpe(int n_merges);

struct AddedToken {
  std::string content;
  bool special = true;
};
// tokenizer.json; added tokens get ids vocab.size(), vocab.size()+1, ...
nlohmann::json tiny_tokenizer_json(const TinyBpe& bpe, const std::vector<AddedToken>& added);

// GPT-2's byte → unicode character mapping, as UTF-8 strings.
const std::vector<std::string>& byte_level_alphabet();

}  // namespace mechlens::tiny
