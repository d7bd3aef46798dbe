#pragma once
// BERT's text normalisation and word splitting, in the order the Rust
// `tokenizers` BertNormalizer applies it: clean, space CJK ideographs, strip
// accents (NFD, drop Mn), lower-case; then BertPreTokenizer: split on
// whitespace, isolate every punctuation character.
#include <string>
#include <vector>

namespace mechlens::tokenize {

struct BertNormalization {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;
  bool lowercase = true;
};

std::u32string bert_normalize(std::u32string text, const BertNormalization& options);
// Words of normalised text: whitespace removed, punctuation as one-char words.
std::vector<std::u32string> bert_pre_tokenize(const std::u32string& text);

}  // namespace mechlens::tokenize
