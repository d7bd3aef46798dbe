#pragma once
// BERT's tokenizer: Hugging Face BasicTokenizer rules (clean text, CJK
// splitting, lower-casing + accent stripping, whitespace and punctuation
// splitting) then WordPiece greedy longest match with "##" continuations.
// Special tokens ([CLS], [SEP], [MASK], [PAD], [UNK]) written in the text are
// matched whole before normalisation, as the `tokenizers` library does.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenize/encoding.hpp"

namespace mechlens::tokenize {

class WordPiece {
 public:
  struct Options {
    bool clean_text = true;  // drop control chars, map whitespace to ' '
    bool lower_case = true;
    std::optional<bool> strip_accents;  // unset: follows lower_case (HF rule)
    bool split_chinese_chars = true;
    int max_chars_per_word = 100;
    std::string unk_token = "[UNK]";
    std::string continuing_prefix = "##";
    std::vector<std::string> special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  };

  // vocab.txt: one token per line, id = line number. Errors name file and line.
  static WordPiece from_vocab_txt(const std::string& path, Options options);
  // tokenizer.json with a WordPiece model and a BertNormalizer/BertPreTokenizer.
  static WordPiece from_tokenizer_json(const std::string& path);

  // No [CLS]/[SEP] added.
  Encoding encode(const std::string& text) const;
  // [CLS] text [SEP], as BertTokenizer does for a single sequence.
  Encoding encode_with_specials(const std::string& text) const;

  std::int64_t id(const std::string& token) const;  // throws if absent
  std::optional<std::int64_t> find(const std::string& token) const;
  const std::string& token(std::int64_t id) const;
  std::size_t vocab_size() const { return vocab_.size(); }
  const Options& options() const { return options_; }

 private:
  // Indexes vocab_, checks unk and specials; `where` names the source file.
  void index_vocab(const std::string& where);
  void encode_text(const std::string& text, Encoding& out) const;
  void encode_word(const std::u32string& word, Encoding& out) const;
  void push(std::int64_t id, Encoding& out) const;

  Options options_;
  std::vector<std::string> vocab_;
  std::unordered_map<std::string, std::int64_t> ids_;
  std::vector<std::string> specials_;  // those of options_.special_tokens in the vocabulary
  std::int64_t unk_id_ = 0;
};

}  // namespace mechlens::tokenize
