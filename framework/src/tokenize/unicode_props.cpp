#include "tokenize/unicode_props.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <iterator>

namespace mechlens::tokenize::unicode {
namespace {

constexpr char32_t kUnicode8Assigned[] = {
#include "tokenize/unicode8_assigned.inc"
};

bool assigned_in_unicode8(char32_t c) {
  const auto* end = std::end(kUnicode8Assigned);
  return (std::upper_bound(std::begin(kUnicode8Assigned), end, c) - std::begin(kUnicode8Assigned)) % 2 == 1;
}

utf8proc_category_t category(char32_t c) { return utf8proc_category(static_cast<utf8proc_int32_t>(c)); }

bool is_p_category(utf8proc_category_t k) {
  return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

}  // namespace

std::u32string decode_utf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    utf8proc_int32_t c = 0;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &c);
    if (n < 0) {  // one bad byte becomes one U+FFFD, as a lossy decoder does
      out.push_back(0xFFFD);
      n = 1;
    } else {
      out.push_back(static_cast<char32_t>(c));
    }
    p += n;
    left -= n;
  }
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  utf8proc_uint8_t buf[4];
  utf8proc_ssize_t n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(c), buf);
  out.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) append_utf8(out, c);
  return out;
}

bool is_whitespace(char32_t c) {
  switch (c) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  auto k = category(c);
  return (k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CO) &&
         assigned_in_unicode8(c);
}

bool is_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  // Punctuation in Unicode 8.0 whose category changed since: CANADIAN
  // SYLLABICS CHI SIGN (now So), SHARADA SANDHI MARK (now Mn).
  if (c == 0x166D || c == 0x111C9) return true;
  return is_p_category(category(c)) && assigned_in_unicode8(c);
}

bool is_nonspacing_mark(char32_t c) {
  switch (c) {
    case 0x1734:  // HANUNOO SIGN PAMUDPOD: Mn in 8.0, Mc since Unicode 14
      return true;
    case 0x1885: case 0x1886:  // MONGOLIAN ALI GALI BALUDA: Lo in 8.0, Mn since 9
    case 0xA9BD:               // JAVANESE CONSONANT SIGN KERET: Mc in 8.0, Mn since 12
    case 0x111C9:              // SHARADA SANDHI MARK: Po in 8.0, Mn since 11
      return false;
    default:
      return category(c) == UTF8PROC_CATEGORY_MN && assigned_in_unicode8(c);
  }
}

bool is_chinese_char(char32_t c) {
  // BERT's _is_chinese_char (google-research/bert tokenization.py).
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void append_lowercase(std::u32string& out, char32_t c) {
  if (c == 0x130) {  // the one unconditional multi-char lowercase (SpecialCasing.txt)
    out.push_back(U'i');
    out.push_back(0x307);
    return;
  }
  // Case pairs newer than utf8proc 2.8 (Unicode 15) that Rust's std (the
  // library's lower-casing) knows: UnicodeData.txt 16.0 and 17.0.
  struct Pair { char32_t upper, lower; };
  static constexpr Pair kNewer[] = {
      {0x1C89, 0x1C8A}, {0xA7CB, 0x0264}, {0xA7CC, 0xA7CD}, {0xA7CE, 0xA7CF}, {0xA7D2, 0xA7D3},
      {0xA7D4, 0xA7D5}, {0xA7DA, 0xA7DB}, {0xA7DC, 0x019B}};
  for (const auto& p : kNewer)
    if (c == p.upper) {
      out.push_back(p.lower);
      return;
    }
  if (c >= 0x10D50 && c <= 0x10D65) {  // Garay capitals (16.0)
    out.push_back(c + 0x20);
    return;
  }
  if (c >= 0x16EA0 && c <= 0x16EB8) {  // Beria Erfe capitals (17.0)
    out.push_back(c + 0x1B);
    return;
  }
  out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
}

std::u32string nfd(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    // DIVES AKURU VOWEL SIGN O (Unicode 13) is newer than the library's
    // decomposition tables, which leave it whole.
    if (c == 0x11938) {
      out.push_back(c);
      continue;
    }
    utf8proc_int32_t buf[8];
    int boundclass = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), buf, 8,
                                                 UTF8PROC_DECOMPOSE, &boundclass);
    if (n <= 0 || n > 8) {
      out.push_back(c);
      continue;
    }
    for (utf8proc_ssize_t i = 0; i < n; ++i) out.push_back(static_cast<char32_t>(buf[i]));
  }
  // Canonical ordering: each run of non-starters sorted (stably) by combining class.
  auto ccc = [](char32_t c) { return utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class; };
  for (std::size_t i = 0; i < out.size();) {
    if (ccc(out[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < out.size() && ccc(out[j]) != 0) ++j;
    std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(i), out.begin() + static_cast<std::ptrdiff_t>(j),
                     [&](char32_t a, char32_t b) { return ccc(a) < ccc(b); });
    i = j;
  }
  return out;
}

}  // namespace mechlens::tokenize::unicode
