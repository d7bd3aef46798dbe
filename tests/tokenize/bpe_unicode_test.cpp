// Every code point of planes 0-3 and 14 through the Qwen2 split regex, NFC and
// BPE, against the real tokenizers library: PCRE2 (Unicode 14) must cut text
// as tokenizers' Oniguruma (newer Unicode, \s without U+180E) does.
#include <fstream>
#include <sstream>

#include "bpe_fixture.hpp"

namespace mechlens::tokenize::test {
namespace {

void append_utf8(std::string& s, char32_t c) {
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (c >> 18));
    s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
}

TEST(BpeUnicode, EveryCodePointSplitsAsTokenizersDoes) {
  std::ifstream in(fixture("qwen_unicode_blocks.txt"));
  ASSERT_TRUE(in) << "qwen_unicode_blocks.txt";
  std::string line;
  int blocks = 0, differ = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::uint32_t base = 0, hash = 0;
    std::size_t count = 0;
    fields >> base >> count >> hash;
    std::string text;
    for (char32_t c = base; c < base + 256; ++c) {
      if (c >= 0xD800 && c <= 0xDFFF) continue;
      std::string s;
      append_utf8(s, c);
      text += s + "x" + s + "1 " + s + s + "\n" + s + "'s ";
    }
    const auto ids = qwen2().encode(text).ids;
    std::uint32_t h = 2166136261u;
    for (std::int64_t id : ids) h = (h ^ static_cast<std::uint32_t>(id)) * 16777619u;
    ++blocks;
    if (ids.size() != count || h != hash) {
      ++differ;
      ADD_FAILURE() << "code points from U+" << std::hex << base << std::dec << ": " << ids.size() << " ids, tokenizers "
                    << count;
    }
  }
  EXPECT_GE(blocks, 1000);
  EXPECT_EQ(differ, 0);
}

}  // namespace
}  // namespace mechlens::tokenize::test
