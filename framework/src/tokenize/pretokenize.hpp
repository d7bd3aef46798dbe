#pragma once
// The `pre_tokenizer` of a byte-level BPE tokenizer.json: any number of
// Split steps (a regex or literal, with tokenizers' five split behaviours and
// `invert`) followed by ByteLevel (optional prefix space, optional GPT-2
// regex). Qwen2: Sequence[Split(Qwen2 regex, Isolated), ByteLevel(use_regex
// false)]; GPT-2: ByteLevel(use_regex true) alone.
//
// Pieces come back as raw UTF-8 bytes; the byte → character mapping of
// ByteLevel is folded into the BPE model's initial symbols (bpe_model.hpp).
#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <vector>

#include "tokenize/split_regex.hpp"

namespace mechlens::tokenize {

class PreTokenizer {
 public:
  enum class Behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

  // `where` names the file for errors; a pre-tokenizer without ByteLevel is refused.
  static PreTokenizer from_json(const nlohmann::json& node, const std::string& where);

  // Appends the pieces of `text` to `out` (empty pieces dropped).
  void split(const std::string& text, std::vector<std::string>& out) const;

 private:
  struct Step {
    bool prefix_space = false;  // ByteLevel(add_prefix_space): " " before each piece not starting with one
    std::shared_ptr<const SplitRegex> regex;  // otherwise: a split
    Behavior behavior = Behavior::isolated;
    bool invert = false;
  };
  std::vector<Step> steps_;
};

}  // namespace mechlens::tokenize
