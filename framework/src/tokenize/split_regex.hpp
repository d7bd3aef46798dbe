#pragma once
// A tokenizer.json split pattern compiled with PCRE2 (UTF + UCP, JIT when
// available). tokenizers compiles these with Oniguruma; the two agree on the
// Qwen2, GPT-2 and o200k patterns once \s, \S and \p{..} are spelled as
// explicit classes: Oniguruma's \s lacks U+180E, and its Unicode tables are
// newer than PCRE2 10.42's Unicode 14 (regex_unicode_additions.hpp). Checked
// on every code point against the real library (bpe_unicode_test.cpp).
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mechlens::tokenize {

class SplitRegex {
 public:
  // `where` names the file and key for compile errors; `literal`: the
  // pattern is a plain string (tokenizer.json's {"String": ...}).
  SplitRegex(const std::string& pattern, const std::string& where, bool literal = false);
  ~SplitRegex();
  SplitRegex(SplitRegex&&) noexcept;
  SplitRegex& operator=(SplitRegex&&) noexcept;

  // Non-overlapping leftmost matches [begin, end) in byte offsets, scanning
  // left to right as Regex::find_iter does; `text` must be valid UTF-8.
  void find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  struct Compiled;
  std::string pattern_;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace mechlens::tokenize
