#include "tokenize/wordpiece.hpp"

#include <fstream>

#include "mechlens/error.hpp"
#include "tokenize/basic_tokenizer.hpp"
#include "tokenize/unicode_props.hpp"

namespace mechlens::tokenize {

WordPiece WordPiece::from_vocab_txt(const std::string& path, Options options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open WordPiece vocabulary");
  WordPiece wp;
  wp.options_ = std::move(options);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    wp.vocab_.push_back(line);
  }
  if (in.bad()) fail(path, "read error");
  wp.index_vocab(path);
  return wp;
}

void WordPiece::index_vocab(const std::string& where) {
  if (vocab_.empty()) fail(where, "empty WordPiece vocabulary");
  ids_.clear();
  ids_.reserve(vocab_.size());
  // A repeated token keeps its last id, as transformers' load_vocab does.
  for (std::size_t i = 0; i < vocab_.size(); ++i) ids_[vocab_[i]] = static_cast<std::int64_t>(i);
  auto unk = find(options_.unk_token);
  if (!unk) fail(where, "unknown-token '" + options_.unk_token + "' is not in the vocabulary");
  unk_id_ = *unk;
  if (options_.max_chars_per_word <= 0)
    fail(where, "max_input_chars_per_word must be positive, got " + std::to_string(options_.max_chars_per_word));
  specials_.clear();
  for (const auto& s : options_.special_tokens)
    if (!s.empty() && find(s)) specials_.push_back(s);
}

std::optional<std::int64_t> WordPiece::find(const std::string& token) const {
  auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::int64_t WordPiece::id(const std::string& token) const {
  auto found = find(token);
  if (!found) fail("WordPiece vocabulary", "no token '" + token + "'");
  return *found;
}

const std::string& WordPiece::token(std::int64_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= vocab_.size())
    fail("WordPiece vocabulary", "token id " + std::to_string(id) + " out of range [0, " +
                                     std::to_string(vocab_.size()) + ")");
  return vocab_[static_cast<std::size_t>(id)];
}

void WordPiece::push(std::int64_t id, Encoding& out) const {
  out.ids.push_back(id);
  out.tokens.push_back(vocab_[static_cast<std::size_t>(id)]);
}

Encoding WordPiece::encode(const std::string& text) const {
  // Special tokens written in the text are matched whole, leftmost-longest,
  // on the raw text (the `tokenizers` library's non-normalized added tokens):
  // "x[MASK]y" gives x [MASK] y, "[mask]" is not matched.
  Encoding out;
  std::size_t plain_from = 0;
  for (std::size_t i = 0; i < text.size();) {
    const std::string* best = nullptr;
    for (const auto& s : specials_)
      if (text.compare(i, s.size(), s) == 0 && (!best || s.size() > best->size())) best = &s;
    if (!best) {
      ++i;
      continue;
    }
    encode_text(text.substr(plain_from, i - plain_from), out);
    push(ids_.at(*best), out);
    i += best->size();
    plain_from = i;
  }
  encode_text(text.substr(plain_from), out);
  return out;
}

Encoding WordPiece::encode_with_specials(const std::string& text) const {
  Encoding body = encode(text);
  Encoding out;
  out.ids.reserve(body.ids.size() + 2);
  out.tokens.reserve(body.ids.size() + 2);
  push(id("[CLS]"), out);
  out.ids.insert(out.ids.end(), body.ids.begin(), body.ids.end());
  out.tokens.insert(out.tokens.end(), body.tokens.begin(), body.tokens.end());
  push(id("[SEP]"), out);
  return out;
}

void WordPiece::encode_text(const std::string& text, Encoding& out) const {
  if (text.empty()) return;
  BertNormalization n;
  n.clean_text = options_.clean_text;
  n.handle_chinese_chars = options_.split_chinese_chars;
  n.lowercase = options_.lower_case;
  n.strip_accents = options_.strip_accents.value_or(options_.lower_case);
  for (const auto& word : bert_pre_tokenize(bert_normalize(unicode::decode_utf8(text), n))) encode_word(word, out);
}

void WordPiece::encode_word(const std::u32string& word, Encoding& out) const {
  if (word.size() > static_cast<std::size_t>(options_.max_chars_per_word)) {
    push(unk_id_, out);
    return;
  }
  // Byte offset of every character, so candidate pieces are substrings.
  std::string utf8;
  std::vector<std::size_t> at;
  for (char32_t c : word) {
    at.push_back(utf8.size());
    unicode::append_utf8(utf8, c);
  }
  at.push_back(utf8.size());
  // Greedy longest-match-first; if any position has no match the whole
  // word is [UNK] (BERT's WordpieceTokenizer).
  std::vector<std::int64_t> pieces;
  std::string candidate;
  for (std::size_t start = 0; start < word.size();) {
    std::size_t end = word.size();
    std::optional<std::int64_t> match;
    for (; end > start; --end) {
      candidate.assign(start > 0 ? options_.continuing_prefix : std::string());
      candidate.append(utf8, at[start], at[end] - at[start]);
      if ((match = find(candidate))) break;
    }
    if (!match) {
      push(unk_id_, out);
      return;
    }
    pieces.push_back(*match);
    start = end;
  }
  for (auto id : pieces) push(id, out);
}

}  // namespace mechlens::tokenize
