#pragma once
// Character classes and mappings with exactly the Unicode data the Rust
// `tokenizers` library (BertNormalizer / BertPreTokenizer) uses, which is not
// one Unicode version: categories from the `unicode_categories` crate
// (Unicode 8.0), NFD from `unicode-normalization-alignments`, whitespace and
// lower-casing from Rust's std (Unicode 16). We take utf8proc's data and
// correct it where those versions differ; tests/tokenize checks every code
// point against the library.
#include <string>
#include <string_view>

namespace mechlens::tokenize::unicode {

// UTF-8 <-> code points. Invalid UTF-8 decodes to U+FFFD, one per bad byte.
std::u32string decode_utf8(std::string_view text);
void append_utf8(std::string& out, char32_t c);
std::string encode_utf8(std::u32string_view text);

// Rust char::is_whitespace (White_Space property).
bool is_whitespace(char32_t c);
// tokenizers' is_control: Cc, Cf or Co in Unicode 8.0, except \t \n \r
// (which count as whitespace). Unassigned code points are kept.
bool is_control(char32_t c);
// ASCII punctuation (33-47, 58-64, 91-96, 123-126) or P* in Unicode 8.0.
bool is_punctuation(char32_t c);
// Mn in Unicode 8.0: what accent stripping removes after NFD.
bool is_nonspacing_mark(char32_t c);
// CJK ideograph blocks of BERT's _is_chinese_char.
bool is_chinese_char(char32_t c);

// Full lower-case mapping of one code point (U+0130 gives two), appended.
void append_lowercase(std::u32string& out, char32_t c);
// Canonical decomposition of a whole string (NFD, with canonical ordering).
std::u32string nfd(std::u32string_view text);

}  // namespace mechlens::tokenize::unicode
