// BERT WordPiece against the Rust `tokenizers` library: golden encodings of
// bert-base-uncased (tools/fixtures/make_wordpiece_golden.mjs), a sweep of
// every code point through each normalisation step, and hand-checked option
// behaviour on a small vocabulary.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "mechlens/error.hpp"
#include "tokenize/basic_tokenizer.hpp"
#include "tokenize/unicode_props.hpp"
#include "tokenize/wordpiece.hpp"

namespace mechlens::tokenize {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kFixtures = std::string(MECHLENS_TEST_DATA) + "/tokenize/fixtures/";
const std::string kVocab = kFixtures + "bert-base-uncased-vocab.txt";
const std::string kTokenizerJson = kFixtures + "bert-base-uncased-tokenizer.json";

std::vector<json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::vector<json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

const WordPiece& uncased_from_vocab() {
  static const WordPiece wp = WordPiece::from_vocab_txt(kVocab, WordPiece::Options{});
  return wp;
}

const WordPiece& uncased_from_json() {
  static const WordPiece wp = WordPiece::from_tokenizer_json(kTokenizerJson);
  return wp;
}

std::string quoted(const std::string& s) { return json(s).dump(); }

// Every golden string must match exactly; reports each mismatch.
void expect_goldens(const WordPiece& wp, const std::vector<json>& cases, const char* source) {
  int passed = 0;
  for (const auto& c : cases) {
    const auto text = c.at("text").get<std::string>();
    const Encoding e = wp.encode(text);
    const auto ids = c.at("ids").get<std::vector<std::int64_t>>();
    const auto tokens = c.at("tokens").get<std::vector<std::string>>();
    bool ok = e.ids == ids && e.tokens == tokens;
    EXPECT_EQ(e.ids, ids) << source << ": " << quoted(text);
    EXPECT_EQ(e.tokens, tokens) << source << ": " << quoted(text);
    if (c.contains("ids_with_specials")) {
      const auto with = c.at("ids_with_specials").get<std::vector<std::int64_t>>();
      EXPECT_EQ(wp.encode_with_specials(text).ids, with) << source << " with specials: " << quoted(text);
      ok = ok && wp.encode_with_specials(text).ids == with;
    }
    passed += ok;
  }
  EXPECT_EQ(passed, static_cast<int>(cases.size())) << source;
}

TEST(WordPieceGolden, VocabularyIsBertBaseUncased) {
  const auto& wp = uncased_from_vocab();
  EXPECT_EQ(wp.vocab_size(), 30522u);
  EXPECT_EQ(wp.id("[PAD]"), 0);
  EXPECT_EQ(wp.id("[unused0]"), 1);
  EXPECT_EQ(wp.id("[UNK]"), 100);
  EXPECT_EQ(wp.id("[CLS]"), 101);
  EXPECT_EQ(wp.id("[SEP]"), 102);
  EXPECT_EQ(wp.id("[MASK]"), 103);
  EXPECT_EQ(wp.id("the"), 1996);
  EXPECT_EQ(wp.token(2015), "##s");
  EXPECT_EQ(uncased_from_json().vocab_size(), 30522u);
  for (std::int64_t i = 0; i < 30522; i += 997) EXPECT_EQ(uncased_from_json().token(i), wp.token(i));
}

TEST(WordPieceGolden, EveryStringFromVocabTxt) {
  const auto cases = read_jsonl(kFixtures + "wordpiece_golden.jsonl");
  ASSERT_GE(cases.size(), 300u);
  expect_goldens(uncased_from_vocab(), cases, "vocab.txt");
}

TEST(WordPieceGolden, EveryStringFromTokenizerJson) {
  const auto cases = read_jsonl(kFixtures + "wordpiece_golden.jsonl");
  ASSERT_GE(cases.size(), 300u);
  expect_goldens(uncased_from_json(), cases, "tokenizer.json");
  const auto& o = uncased_from_json().options();
  EXPECT_TRUE(o.lower_case);
  EXPECT_TRUE(o.clean_text);
  EXPECT_TRUE(o.split_chinese_chars);
  EXPECT_FALSE(o.strip_accents.has_value());
  EXPECT_EQ(o.max_chars_per_word, 100);
  EXPECT_EQ(o.special_tokens, (std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}));
}

TEST(WordPieceGolden, SpecialsAroundText) {
  int with = 0;
  for (const auto& c : read_jsonl(kFixtures + "wordpiece_golden.jsonl")) with += c.contains("ids_with_specials");
  EXPECT_GE(with, 5);
  const Encoding e = uncased_from_vocab().encode_with_specials("Hello world");
  EXPECT_EQ(e.ids, (std::vector<std::int64_t>{101, 7592, 2088, 102}));
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"[CLS]", "hello", "world", "[SEP]"}));
  EXPECT_EQ(uncased_from_vocab().encode_with_specials("").ids, (std::vector<std::int64_t>{101, 102}));
}

// Normaliser options other than bert-base-uncased's, run by the library with
// the same vocabulary.
TEST(WordPieceGolden, NormalizerOptions) {
  const auto cases = read_jsonl(kFixtures + "wordpiece_options_golden.jsonl");
  ASSERT_GE(cases.size(), 40u);
  std::map<std::string, WordPiece> by_options;
  for (const auto& c : cases) {
    const json& o = c.at("options");
    WordPiece::Options options;
    options.lower_case = o.at("lowercase").get<bool>();
    if (!o.at("strip_accents").is_null()) options.strip_accents = o.at("strip_accents").get<bool>();
    options.split_chinese_chars = o.value("handle_chinese_chars", true);
    options.clean_text = o.value("clean_text", true);
    const auto key = o.dump();
    if (!by_options.count(key)) by_options.emplace(key, WordPiece::from_vocab_txt(kVocab, options));
    const Encoding e = by_options.at(key).encode(c.at("text").get<std::string>());
    EXPECT_EQ(e.ids, c.at("ids").get<std::vector<std::int64_t>>()) << key << " " << c.at("text");
    EXPECT_EQ(e.tokens, c.at("tokens").get<std::vector<std::string>>()) << key << " " << c.at("text");
  }
  EXPECT_EQ(by_options.size(), 5u);
}

// Each code point through each normalisation step, against the library.
class UnicodeSweep : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::ifstream in(kFixtures + "wordpiece_unicode_sweep.txt");
    ASSERT_TRUE(in);
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream fields(line);
      std::string kind, hex;
      fields >> kind >> hex;
      const auto first = static_cast<char32_t>(std::stoul(hex, nullptr, 16));
      std::vector<char32_t> rest;
      while (fields >> hex) rest.push_back(static_cast<char32_t>(std::stoul(hex, nullptr, 16)));
      if (kind == "A" || kind == "L") {
        (kind == "A" ? strip_ : lower_)[first] = std::u32string(rest.begin(), rest.end());
      } else {
        ASSERT_EQ(rest.size(), 1u) << line;
        for (char32_t c = first; c <= rest[0]; ++c) class_[c] = kind[0];
      }
    }
  }
  static char cls(char32_t c) {
    auto it = class_.find(c);
    return it == class_.end() ? '-' : it->second;
  }
  static inline std::map<char32_t, char> class_;
  static inline std::map<char32_t, std::u32string> strip_, lower_;
};

std::string hex(char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

template <class F>
void for_each_scalar(F f) {
  for (char32_t c = 0; c <= 0x10FFFF; ++c)
    if (c < 0xD800 || c > 0xDFFF) f(c);
}

TEST_F(UnicodeSweep, CleanTextAndPunctuation) {
  ASSERT_GT(class_.size(), 100000u);
  BertNormalization clean_only{true, false, false, false};
  int bad = 0;
  for_each_scalar([&](char32_t c) {
    const std::u32string in = {U'a', c, U'b'};
    const std::u32string out = bert_normalize(in, clean_only);
    const char expected = cls(c);
    char got = out == U"ab" ? 'C' : out == U"a b" ? 'S' : out == in ? '-' : '?';
    if (got == '-' && bert_pre_tokenize(out).size() == 3) got = 'P';
    if (got != expected && ++bad <= 20) ADD_FAILURE() << hex(c) << ": library class " << expected << ", ours " << got;
  });
  EXPECT_EQ(bad, 0);
}

TEST_F(UnicodeSweep, StripAccents) {
  ASSERT_GT(strip_.size(), 3000u);
  BertNormalization strip_only{false, false, true, false};
  int bad = 0;
  for_each_scalar([&](char32_t c) {
    if (c >= 0xAC00 && c <= 0xD7A3 && !strip_.count(c)) return;  // Hangul: sampled in the fixture
    auto it = strip_.find(c);
    const std::u32string expected = it == strip_.end() ? std::u32string(1, c) : it->second;
    const std::u32string got = bert_normalize(std::u32string(1, c), strip_only);
    if (got != expected && ++bad <= 20)
      ADD_FAILURE() << hex(c) << ": library " << unicode::encode_utf8(expected) << ", ours " << unicode::encode_utf8(got);
  });
  EXPECT_EQ(bad, 0);
  // Canonical ordering across characters: a + dot below (220) after acute (230).
  EXPECT_EQ(unicode::nfd(U"a\u0301\u0323"), U"a\u0323\u0301");
}

TEST_F(UnicodeSweep, Lowercase) {
  ASSERT_GT(lower_.size(), 1000u);
  BertNormalization lower_only{false, false, false, true};
  int bad = 0;
  for_each_scalar([&](char32_t c) {
    auto it = lower_.find(c);
    const std::u32string expected = it == lower_.end() ? std::u32string(1, c) : it->second;
    const std::u32string got = bert_normalize(std::u32string(1, c), lower_only);
    if (got != expected && ++bad <= 20)
      ADD_FAILURE() << hex(c) << ": library " << unicode::encode_utf8(expected) << ", ours " << unicode::encode_utf8(got);
  });
  EXPECT_EQ(bad, 0);
}

// Hand-checked behaviour of the options on a small vocabulary.
class SmallVocab : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = fs::temp_directory_path() / ("mechlens_wp_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                         "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".txt");
    std::ofstream out(path_);
    for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Hello", "hello", "café", "cafe", "Cafe",
                          "##s", "un", "##aff", "##able", "中", "文", "中文", "!", "a"})
      out << t << "\n";
  }
  void TearDown() override { fs::remove(path_); }
  std::vector<std::string> tokens(const std::string& text, WordPiece::Options o = {}) const {
    return WordPiece::from_vocab_txt(path_.string(), o).encode(text).tokens;
  }
  using V = std::vector<std::string>;
  fs::path path_;
};

TEST_F(SmallVocab, UncasedDefault) {
  EXPECT_EQ(tokens("HÉLLO Cafés!"), (V{"hello", "cafe", "##s", "!"}));
  EXPECT_EQ(tokens("unaffable"), (V{"un", "##aff", "##able"}));
  EXPECT_EQ(tokens("unaffablex"), (V{"[UNK]"}));  // one uncoverable piece: the whole word
  EXPECT_EQ(tokens("中文"), (V{"中", "文"}));
  EXPECT_EQ(tokens("a[MASK]a"), (V{"a", "[MASK]", "a"}));
  EXPECT_EQ(tokens("[mask]"), (V{"[UNK]", "[UNK]", "[UNK]"}));  // not the special token: [ mask ]
}

TEST_F(SmallVocab, CasedKeepsCaseAndAccents) {
  WordPiece::Options o;
  o.lower_case = false;  // strip_accents unset follows lower_case
  EXPECT_EQ(tokens("Hello hello café Cafe", o), (V{"Hello", "hello", "café", "Cafe"}));
  EXPECT_EQ(tokens("HELLO", o), (V{"[UNK]"}));
  o.strip_accents = true;
  EXPECT_EQ(tokens("café Café", o), (V{"cafe", "Cafe"}));
}

TEST_F(SmallVocab, LowercaseWithoutStripping) {
  WordPiece::Options o;
  o.strip_accents = false;
  EXPECT_EQ(tokens("CAFÉ Cafe", o), (V{"café", "cafe"}));
}

TEST_F(SmallVocab, ChineseSplittingAndWordLength) {
  WordPiece::Options o;
  o.split_chinese_chars = false;
  EXPECT_EQ(tokens("中文", o), (V{"中文"}));
  WordPiece::Options short_words;
  short_words.max_chars_per_word = 5;
  EXPECT_EQ(tokens("hello hellos", short_words), (V{"hello", "[UNK]"}));
}

TEST_F(SmallVocab, InvalidUtf8BecomesReplacementAndIsDropped) {
  EXPECT_EQ(tokens("hel\xFFlo"), (V{"hello"}));
}

TEST(WordPieceErrors, MissingVocabularyNamesTheFile) {
  const std::string missing = "/nonexistent/dir/vocab.txt";
  try {
    WordPiece::from_vocab_txt(missing, {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  try {
    WordPiece::from_tokenizer_json(missing);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
}

TEST(WordPieceErrors, UnknownTokenAndIdThrow) {
  const auto& wp = uncased_from_vocab();
  EXPECT_THROW(wp.id("definitely-not-a-token"), Error);
  EXPECT_FALSE(wp.find("definitely-not-a-token").has_value());
  EXPECT_EQ(wp.find("hello"), std::optional<std::int64_t>(7592));
  EXPECT_THROW(wp.token(-1), Error);
  EXPECT_THROW(wp.token(30522), Error);
}

TEST(WordPieceErrors, UnsupportedTokenizerJsonNamesFileAndKey) {
  const auto path = fs::temp_directory_path() / "mechlens_wp_bpe_tokenizer.json";
  {
    std::ofstream out(path);
    out << R"({"model": {"type": "BPE", "vocab": {}, "merges": []}})";
  }
  try {
    WordPiece::from_tokenizer_json(path.string());
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path.string()), std::string::npos) << what;
    EXPECT_NE(what.find("model"), std::string::npos) << what;
    EXPECT_NE(what.find("BPE"), std::string::npos) << what;
  }
  fs::remove(path);
  // A vocabulary without the unknown token cannot encode.
  const auto vocab = fs::temp_directory_path() / "mechlens_wp_no_unk.txt";
  {
    std::ofstream out(vocab);
    out << "[PAD]\nhello\n";
  }
  try {
    WordPiece::from_vocab_txt(vocab.string(), {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(vocab.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[UNK]"), std::string::npos) << e.what();
  }
  fs::remove(vocab);
}

}  // namespace
}  // namespace mechlens::tokenize
