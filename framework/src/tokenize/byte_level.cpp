#include "tokenize/byte_level.hpp"

#include <cstdint>

namespace mechlens::tokenize {
namespace {

std::string utf8_of(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
  return s;
}

bool self_spelled(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

// Code point of each byte's character; the inverse covers U+0000..U+0143.
struct Tables {
  std::array<std::string, 256> spelling;
  std::array<std::int16_t, 0x144> byte_of{};
  Tables() {
    byte_of.fill(-1);
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const char32_t c = self_spelled(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + next++);
      spelling[b] = utf8_of(c);
      byte_of[c] = static_cast<std::int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

// Length of the well-formed UTF-8 sequence at s[i] (0 if ill-formed), and the
// length of its maximal valid prefix in `prefix` (Unicode 15, §3.9, Table 3-7).
std::size_t sequence_at(std::string_view s, std::size_t i, std::size_t& prefix) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b = byte(i);
  prefix = 0;
  if (b < 0x80) return 1;
  std::size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  prefix = 1;
  for (std::size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) return 0;
    const unsigned char c = byte(i + k);
    const bool ok = k == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
    if (!ok) return 0;
    ++prefix;
  }
  return need + 1;
}

}  // namespace

const std::array<std::string, 256>& byte_level_alphabet() { return tables().spelling; }

std::string to_byte_level(std::string_view bytes) {
  const auto& spelling = tables().spelling;
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) out += spelling[b];
  return out;
}

bool from_byte_level(std::string_view token, std::string& out) {
  const auto& byte_of = tables().byte_of;
  out.clear();
  for (std::size_t i = 0; i < token.size();) {
    const auto b = static_cast<unsigned char>(token[i]);
    char32_t c;
    if (b < 0x80) {
      c = b;
      i += 1;
    } else if ((b & 0xE0) == 0xC0 && i + 1 < token.size()) {
      c = (static_cast<char32_t>(b & 0x1F) << 6) | (static_cast<unsigned char>(token[i + 1]) & 0x3F);
      i += 2;
    } else {
      return false;  // three-byte characters and beyond are never in the alphabet
    }
    if (c >= byte_of.size() || byte_of[c] < 0) return false;
    out += static_cast<char>(byte_of[c]);
  }
  return true;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    std::size_t prefix;
    const std::size_t n = sequence_at(bytes, i, prefix);
    if (n > 0) {
      out.append(bytes.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      i += prefix > 0 ? prefix : 1;
    }
  }
  return out;
}

std::size_t valid_utf8_prefix(std::string_view text) {
  std::size_t i = 0, prefix;
  while (i < text.size()) {
    const std::size_t n = sequence_at(text, i, prefix);
    if (n == 0) break;
    i += n;
  }
  return i;
}

}  // namespace mechlens::tokenize
