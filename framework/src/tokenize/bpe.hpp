#pragma once
// Byte-level BPE read from a Hugging Face tokenizer.json (Qwen2 as in
// LLaVA-OneVision, GPT-2, o200k for Phi-4), reproducing the `tokenizers`
// library: added tokens split out first (added_tokens.hpp), then the
// normaliser (unicode_normalizer.hpp), the split regex and ByteLevel
// (pretokenize.hpp), and BPE merges (bpe_model.hpp). encode() adds no BOS/EOS
// (post_processor is not applied; Qwen2's adds nothing).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokenize/added_tokens.hpp"
#include "tokenize/bpe_model.hpp"
#include "tokenize/encoding.hpp"
#include "tokenize/pretokenize.hpp"
#include "tokenize/unicode_normalizer.hpp"

namespace mechlens::tokenize {

class BytePairEncoding {
 public:
  // Errors name the file and the key. Added tokens get the ids tokenizers
  // gives them (a token already in the vocabulary keeps its id, the others
  // are numbered on from the vocabulary in file order), which is what the
  // file's "id" fields say for any file the library itself wrote.
  static BytePairEncoding from_tokenizer_json(const std::string& path);

  // Text (valid UTF-8, else an error naming the byte offset) → ids and the
  // vocabulary's spelling of each token; an added token is spelled as the
  // text it matched (its content, plus whitespace taken by lstrip/rstrip).
  Encoding encode(const std::string& text) const;
  // Ids → text through the ByteLevel decoder; ill-formed UTF-8 from partial
  // sequences becomes U+FFFD. `skip_special` drops special added tokens.
  std::string decode(const std::vector<std::int64_t>& ids, bool skip_special = false) const;

  std::optional<std::int64_t> find(const std::string& token) const;
  std::int64_t id(const std::string& token) const;       // throws if absent
  const std::string& token(std::int64_t id) const;       // throws if absent
  bool is_special(std::int64_t id) const;                // a special added token
  // Highest id + 1 over the vocabulary and the added tokens.
  std::size_t vocab_size() const { return static_cast<std::size_t>(vocab_end_); }
  const std::vector<AddedToken>& added_tokens() const { return added_.all(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  UnicodeNormalizer normalizer_;
  std::shared_ptr<const PreTokenizer> pre_tokenizer_;
  std::shared_ptr<const BpeModel> model_;  // shared: copies of this class share one merge cache
  AddedTokens added_;
  std::int64_t vocab_end_ = 0;
};

}  // namespace mechlens::tokenize
