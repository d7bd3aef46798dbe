#include "tokenize/basic_tokenizer.hpp"

#include "tokenize/unicode_props.hpp"

namespace mechlens::tokenize {

std::u32string bert_normalize(std::u32string text, const BertNormalization& options) {
  namespace u = unicode;
  std::u32string out;
  out.reserve(text.size());
  if (options.clean_text) {
    for (char32_t c : text) {
      if (c == 0 || c == 0xFFFD || u::is_control(c)) continue;
      out.push_back(u::is_whitespace(c) ? U' ' : c);
    }
    text.swap(out);
    out.clear();
  }
  if (options.handle_chinese_chars) {
    for (char32_t c : text) {
      if (u::is_chinese_char(c)) {
        out.push_back(U' ');
        out.push_back(c);
        out.push_back(U' ');
      } else {
        out.push_back(c);
      }
    }
    text.swap(out);
    out.clear();
  }
  if (options.strip_accents) {
    for (char32_t c : u::nfd(text)) {
      if (!u::is_nonspacing_mark(c)) out.push_back(c);
    }
    text.swap(out);
    out.clear();
  }
  if (options.lowercase) {
    for (char32_t c : text) u::append_lowercase(out, c);
    text.swap(out);
  }
  return text;
}

std::vector<std::u32string> bert_pre_tokenize(const std::u32string& text) {
  std::vector<std::u32string> words;
  std::u32string word;
  auto flush = [&] {
    if (!word.empty()) words.push_back(std::move(word));
    word.clear();
  };
  for (char32_t c : text) {
    if (unicode::is_whitespace(c)) {
      flush();
    } else if (unicode::is_punctuation(c)) {
      flush();
      words.emplace_back(1, c);
    } else {
      word.push_back(c);
    }
  }
  flush();
  return words;
}

}  // namespace mechlens::tokenize
