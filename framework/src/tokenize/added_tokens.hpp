#pragma once
// The `added_tokens` of a tokenizer.json (<|im_start|>, <image>, ...):
// matched in the text before normalisation and pre-tokenisation and never
// split by BPE. Follows tokenizers' AddedVocabulary (added_vocabulary.rs):
//  - leftmost-longest matching, non-overlapping, left to right;
//  - tokens with normalized=false are matched in the raw text first, then the
//    remaining text is normalised and tokens with normalized=true are matched
//    in it (their content normalised the same way);
//  - single_word: only when no word character (alphanumeric or '_') touches
//    the match; lstrip/rstrip: the match swallows the whitespace beside it.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenize/unicode_normalizer.hpp"

namespace mechlens::tokenize {

struct AddedToken {
  std::string content;
  std::int64_t id = -1;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
};

class AddedTokens {
 public:
  // A piece of the text: either an added token (`id` set, `text` its content
  // as written in the text, strips included) or normalised ordinary text.
  struct Segment {
    std::string text;
    std::optional<std::int64_t> id;
  };

  AddedTokens() = default;
  // `tokens` with their final ids; `normalizer` normalises the content of
  // normalized=true tokens.
  AddedTokens(std::vector<AddedToken> tokens, const UnicodeNormalizer& normalizer);

  void split(const std::string& text, const UnicodeNormalizer& normalizer, std::vector<Segment>& out) const;

  const AddedToken* by_id(std::int64_t id) const;
  const AddedToken* by_content(const std::string& content) const;
  const std::vector<AddedToken>& all() const { return tokens_; }

 private:
  // A byte trie over the contents of one group of tokens.
  struct Trie {
    struct Node {
      std::vector<std::pair<unsigned char, int>> next;  // sorted by byte
      int token = -1;                                   // index into tokens_
    };
    std::vector<Node> nodes{Node{}};
    bool first[256] = {};
    void insert(const std::string& key, int token);
    bool empty() const { return nodes.size() == 1; }
  };
  struct Match {
    std::size_t begin, end;
    int token;
  };
  std::vector<Match> find(const std::string& text, const Trie& trie) const;
  void split_with(const std::string& text, const Trie& trie, std::vector<Segment>& out) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<std::int64_t, int> by_id_;
  std::unordered_map<std::string, int> by_content_;
  Trie raw_, normalized_;
};

}  // namespace mechlens::tokenize
