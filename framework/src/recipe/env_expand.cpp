#include "recipe/env_expand.hpp"

#include <cctype>
#include <cstdint>
#include <cstdlib>

#include "mechlens/error.hpp"

namespace mechlens::recipe::detail {

std::optional<std::string> from_environment(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

namespace {

// Offset of the first byte that is not well-formed UTF-8, or npos. Strings
// reach tokenizers and HDF5 (which declares UTF-8); a bad byte must be blamed
// on the recipe key (or variable) it came from, not on an archive attribute.
std::size_t invalid_utf8_at(const std::string& text) {
  // RFC 3629, as the store checks: no overlongs, surrogates or values past U+10FFFF.
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
    bool ok = len != 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (s[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static const std::uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (!ok || cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string::npos;
}

std::string byte_hex(unsigned char c) {
  static const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[c >> 4] + digits[c & 0xf];
}

void check_utf8(const std::string& text, const std::string& at, const std::string& what) {
  const std::size_t bad = invalid_utf8_at(text);
  if (bad != std::string::npos)
    fail(at, what + " is not valid UTF-8 (byte " + byte_hex(static_cast<unsigned char>(text[bad])) + " at offset " +
                 std::to_string(bad) + ")");
}

}  // namespace

std::string where(const std::string& file, const toml::node& node) {
  const auto line = node.source().begin.line;
  return line ? file + ":" + std::to_string(line) : file + ":--set";
}

std::string expand(const std::string& text, const std::string& at, const std::string& key, const Lookup& lookup) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string::npos)
      fail(at, key + ": unclosed '${' in \"" + text + "\" (write $${ for a literal ${)");
    const std::string inner = text.substr(i + 2, close - i - 2);
    const std::size_t dash = inner.find(":-");
    const std::string name = inner.substr(0, dash);
    bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char c : name) valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!valid) fail(at, key + ": '${" + inner + "}' is not a variable name (letters, digits, '_')");
    std::optional<std::string> value = lookup(name);
    if (value) check_utf8(*value, at, key + ": environment variable " + name);
    if (dash != std::string::npos) {
      if (!value || value->empty()) value = inner.substr(dash + 2);
    } else if (!value) {
      fail(at, key + ": environment variable " + name + " is not set (in \"" + text +
                   "\"; set it, or write ${" + name + ":-default})");
    }
    out += *value;
    i = close + 1;
  }
  return out;
}

namespace {

void expand_node(toml::node& node, const std::string& file, const std::string& key, const Lookup& lookup) {
  if (auto* s = node.as_string()) {
    check_utf8(s->get(), where(file, node), key);
    s->get() = expand(s->get(), where(file, node), key, lookup);
  } else if (auto* a = node.as_array()) {
    for (std::size_t i = 0; i < a->size(); ++i)
      expand_node(*a->get(i), file, key + "[" + std::to_string(i) + "]", lookup);
  } else if (auto* t = node.as_table()) {
    for (auto&& [k, v] : *t) expand_node(v, file, key.empty() ? std::string(k.str()) : key + "." + std::string(k.str()), lookup);
  }
}
}  // namespace

void expand_all(toml::table& table, const std::string& file, const Lookup& lookup) {
  expand_node(table, file, "", lookup);
}

}  // namespace mechlens::recipe::detail
