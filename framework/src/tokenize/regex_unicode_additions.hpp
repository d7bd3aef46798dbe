#pragma once
// Code points that tokenizers' Oniguruma counts in a Unicode property (\p{L},
// \p{N}, \p{Lo}, ...) but PCRE2 10.42, built on Unicode 14, does not:
// characters assigned since. Generated (regex_unicode_additions.cpp) by
// tools/fixtures/make_bpe_unicode_tables.mjs.
#include <string>
#include <vector>

namespace mechlens::tokenize {

struct CodeRange {
  char32_t first, last;
};

// nullptr for a property the table does not cover.
const std::vector<CodeRange>* unicode_additions(const std::string& property);

}  // namespace mechlens::tokenize
