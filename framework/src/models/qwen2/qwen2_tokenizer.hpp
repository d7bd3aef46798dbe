#pragma once
// The tokenizer of a Qwen2-family checkpoint directory (Qwen2ForCausalLM,
// LLaVA-OneVision): tokenizer.json read as a byte-level BPE.
#include <string>

#include "mechlens/model.hpp"
#include "tokenize/bpe.hpp"

namespace mechlens::models::qwen2 {

// DIR/tokenizer.json; the error names the directory when it is missing
// (the slow-tokenizer vocab.json + merges.txt pair is not read).
tokenize::BytePairEncoding load_qwen2_tokenizer(const std::string& directory);

// Text as Qwen2Model::encode_raw returns it (no template), from the tokenizer
// alone: `mechlens tokenize` needs no weights.
EncodedInput encode_qwen2_text(const tokenize::BytePairEncoding& tokenizer, const std::string& text);

}  // namespace mechlens::models::qwen2
