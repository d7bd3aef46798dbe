#include "tokenize/split_regex.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstdio>

#include "mechlens/error.hpp"
#include "tokenize/regex_unicode_additions.hpp"

namespace mechlens::tokenize {
namespace {

// Oniguruma's \s is the White_Space property; PCRE2's (with UCP) also takes
// U+180E, a space only before Unicode 6.3.
const char* const kWhiteSpace =
    R"(\t\n\x0B\f\r\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

std::string hex(char32_t c) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "\\x{%X}", static_cast<unsigned>(c));
  return buffer;
}

// Class items for a property: itself plus what Unicode added after PCRE2's tables.
std::string property_items(const std::string& name) {
  std::string items = "\\p{" + name + "}";
  if (const auto* ranges = unicode_additions(name))
    for (const auto& r : *ranges) items += r.first == r.last ? hex(r.first) : hex(r.first) + "-" + hex(r.last);
  return items;
}

// The pattern rewritten so that PCRE2 matches what Oniguruma matches: \s, \S
// and \p{X} / \pX / \d (= \p{Nd}) spelled as explicit classes. \S, \P{X}
// and \D inside a character class cannot be widened without class
// subtraction and are left as they are (none of the known patterns has one).
std::string onig_compatible(const std::string& p) {
  std::string out;
  bool in_class = false, class_start = false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char d = p[i + 1];
      std::string name;
      std::size_t end = i + 2;  // one past the escape
      if (d == 'p' || d == 'P') {
        if (end < p.size() && p[end] == '{') {
          const std::size_t close = p.find('}', end);
          if (close != std::string::npos) {
            name = p.substr(end + 1, close - end - 1);
            end = close + 1;
          }
        } else if (end < p.size()) {
          name = p.substr(end, 1);
          end += 1;
        }
      } else if (d == 'd' || d == 'D') {
        name = "Nd";
      }
      const bool negated = d == 'P' || d == 'D' || d == 'S';
      std::string items;
      if (d == 's' || d == 'S') items = kWhiteSpace;
      else if (!name.empty() && name[0] != '^' && unicode_additions(name)) items = property_items(name);
      if (items.empty() || (negated && in_class)) {
        out.append(p, i, end - i);
      } else if (in_class) {
        out += items;
      } else {
        out += (negated ? "[^" : "[") + items + "]";
      }
      i = end - 1;
      class_start = false;
      continue;
    }
    out += c;
    if (!in_class) {
      if (c == '[') {
        in_class = class_start = true;
        if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      }
    } else if (c == '[' && i + 1 < p.size() && p[i + 1] == ':') {
      const std::size_t close = p.find(":]", i + 2);  // a POSIX class such as [:alpha:]
      if (close != std::string::npos) {
        out.append(p, i + 1, close + 2 - (i + 1));
        i = close + 1;
      }
      class_start = false;
    } else {
      if (c == ']' && !class_start) in_class = false;
      class_start = false;
    }
  }
  return out;
}

}  // namespace

struct SplitRegex::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() {
    if (code) pcre2_code_free(code);
  }
};

SplitRegex::SplitRegex(const std::string& pattern, const std::string& where, bool literal)
    : pattern_(pattern), compiled_(std::make_unique<Compiled>()) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  const std::string source = literal ? pattern : onig_compatible(pattern);
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(),
                                  literal ? PCRE2_UTF | PCRE2_LITERAL : PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (!compiled_->code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    fail(where, "split regex does not compile at offset " + std::to_string(offset) + ": " +
                    reinterpret_cast<const char*>(message) + " (pattern " + pattern + ")");
  }
  // (PCRE2 allows no UCP with LITERAL; a literal needs none.)
  // JIT is an optimisation only: the interpreter gives the same matches.
  pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE);
}

SplitRegex::~SplitRegex() = default;
SplitRegex::SplitRegex(SplitRegex&&) noexcept = default;
SplitRegex& SplitRegex::operator=(SplitRegex&&) noexcept = default;

void SplitRegex::find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const {
  out.clear();
  // One match block per thread: encode() may run on several threads.
  thread_local std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create(4, nullptr), &pcre2_match_data_free);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t start = 0;
  while (start <= text.size()) {
    const int rc = pcre2_match(compiled_->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, data.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      fail("tokenize", std::string("split regex failed: ") + reinterpret_cast<const char*>(message));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    const std::size_t begin = ovector[0], end = ovector[1];
    if (end > begin) {
      out.emplace_back(begin, end);
      start = end;
    } else {
      // An empty match splits nothing; step over one character.
      start = end + 1;
      while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
    }
  }
}

}  // namespace mechlens::tokenize
