#include "tokenize/added_tokens.hpp"

#include <utf8proc.h>

#include <algorithm>

namespace mechlens::tokenize {
namespace {

// The code point ending at `end` (exclusive) and the one starting at `begin`.
char32_t last_char(const std::string& s, std::size_t end) {
  std::size_t i = end;
  while (i > 0 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) --i;
  if (i > 0) --i;
  utf8proc_int32_t c = 0;
  utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i), static_cast<utf8proc_ssize_t>(end - i), &c);
  return static_cast<char32_t>(c);
}

std::size_t char_at(const std::string& s, std::size_t begin, char32_t& c) {
  utf8proc_int32_t cp = 0;
  const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + begin),
                                  static_cast<utf8proc_ssize_t>(s.size() - begin), &cp);
  c = static_cast<char32_t>(cp);
  return n > 0 ? static_cast<std::size_t>(n) : 1;
}

// Rust regex's Unicode \s, the White_Space property (lstrip / rstrip).
bool is_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// A word character for single_word: Rust regex's Unicode \w, which
// added_vocabulary.rs uses (`\w$` before, `^\w` after the match):
// Alphabetic, marks, decimal digits, connector punctuation, joiners.
// Alphabetic = letters, Nl and Other_Alphabetic; the latter is marks (already
// in) plus the circled and squared Latin letters listed here.
bool is_word_char(char32_t c) {
  if (c == 0x200C || c == 0x200D || (c >= 0x24B6 && c <= 0x24E9) || (c >= 0x1F130 && c <= 0x1F149) ||
      (c >= 0x1F150 && c <= 0x1F169) || (c >= 0x1F170 && c <= 0x1F189))
    return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

}  // namespace

void AddedTokens::Trie::insert(const std::string& key, int token) {
  int node = 0;
  for (unsigned char b : key) {
    auto& next = nodes[node].next;
    auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(b, 0),
                               [](const auto& x, const auto& y) { return x.first < y.first; });
    if (it != next.end() && it->first == b) {
      node = it->second;
    } else {
      const int child = static_cast<int>(nodes.size());
      next.insert(it, {b, child});
      nodes.emplace_back();
      node = child;
    }
  }
  if (nodes[node].token < 0) nodes[node].token = token;  // the first of equal keys wins
  first[static_cast<unsigned char>(key[0])] = true;
}

AddedTokens::AddedTokens(std::vector<AddedToken> tokens, const UnicodeNormalizer& normalizer)
    : tokens_(std::move(tokens)) {
  for (int i = 0; i < static_cast<int>(tokens_.size()); ++i) {
    const AddedToken& t = tokens_[i];
    by_id_.emplace(t.id, i);
    by_content_.emplace(t.content, i);
    if (t.content.empty()) continue;
    if (t.normalized) {
      const std::string key = normalizer.apply(t.content);
      if (!key.empty()) normalized_.insert(key, i);
    } else {
      raw_.insert(t.content, i);
    }
  }
}

const AddedToken* AddedTokens::by_id(std::int64_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedTokens::by_content(const std::string& content) const {
  const auto it = by_content_.find(content);
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

std::vector<AddedTokens::Match> AddedTokens::find(const std::string& text, const Trie& trie) const {
  std::vector<Match> out;
  if (trie.empty()) return out;
  std::size_t start_offset = 0;  // end of the previous accepted match
  for (std::size_t i = 0; i < text.size();) {
    if (!trie.first[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    // Longest key starting at i (leftmost-longest, as aho-corasick's MatchKind::LeftmostLongest).
    int node = 0, token = -1;
    std::size_t end = i;
    for (std::size_t k = i; k < text.size(); ++k) {
      const auto& next = trie.nodes[node].next;
      const unsigned char b = static_cast<unsigned char>(text[k]);
      auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(b, 0),
                                 [](const auto& x, const auto& y) { return x.first < y.first; });
      if (it == next.end() || it->first != b) break;
      node = it->second;
      if (trie.nodes[node].token >= 0) {
        token = trie.nodes[node].token;
        end = k + 1;
      }
    }
    if (token < 0) {
      ++i;
      continue;
    }
    const AddedToken& t = tokens_[token];
    std::size_t begin = i, stop = end;
    i = end;  // matches never overlap, whether or not this one is kept
    if (t.single_word) {
      const bool space_before = begin == 0 || !is_word_char(last_char(text, begin));
      char32_t c = 0;
      if (stop < text.size()) char_at(text, stop, c);
      const bool space_after = stop == text.size() || !is_word_char(c);
      if (!space_before || !space_after) continue;
    }
    if (t.lstrip) {
      std::size_t b = begin;
      while (b > 0) {
        std::size_t p = b - 1;
        while (p > 0 && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
        char32_t c;
        char_at(text, p, c);
        if (!is_whitespace(c)) break;
        b = p;
      }
      begin = std::max(b, start_offset);  // spaces an earlier match took stay with it
    }
    if (t.rstrip) {
      while (stop < text.size()) {
        char32_t c;
        const std::size_t n = char_at(text, stop, c);
        if (!is_whitespace(c)) break;
        stop += n;
      }
      i = std::max(i, stop);
    }
    begin = std::max(begin, start_offset);
    out.push_back({begin, stop, token});
    start_offset = stop;
  }
  return out;
}

void AddedTokens::split_with(const std::string& text, const Trie& trie, std::vector<Segment>& out) const {
  std::size_t at = 0;
  for (const Match& m : find(text, trie)) {
    if (m.begin > at) out.push_back({text.substr(at, m.begin - at), std::nullopt});
    out.push_back({text.substr(m.begin, m.end - m.begin), tokens_[m.token].id});
    at = m.end;
  }
  if (at < text.size()) out.push_back({text.substr(at), std::nullopt});
}

void AddedTokens::split(const std::string& text, const UnicodeNormalizer& normalizer, std::vector<Segment>& out) const {
  std::vector<Segment> first;
  split_with(text, raw_, first);
  for (Segment& s : first) {
    if (s.id) {
      out.push_back(std::move(s));
    } else {
      split_with(normalizer.apply(s.text), normalized_, out);
    }
  }
}

}  // namespace mechlens::tokenize
