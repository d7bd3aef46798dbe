// Byte-level BPE against the real `tokenizers` library: ids, tokens and
// decoded text for every fixture line (tools/fixtures/make_bpe_golden.mjs).
#include "bpe_fixture.hpp"

namespace mechlens::tokenize::test {
namespace {

std::vector<std::int64_t> ids_of(const nlohmann::json& line) { return line.at("ids").get<std::vector<std::int64_t>>(); }

void expect_golden(const BytePairEncoding& tokenizer, const std::string& file, std::size_t min_lines) {
  const auto lines = read_jsonl(fixture(file));
  ASSERT_GE(lines.size(), min_lines);
  std::size_t matched = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    const std::string text = line.at("text");
    SCOPED_TRACE(file + " line " + std::to_string(i + 1) + ": " + nlohmann::json(text).dump());
    const Encoding e = tokenizer.encode(text);
    EXPECT_EQ(e.ids, ids_of(line));
    EXPECT_EQ(e.tokens, line.at("tokens").get<std::vector<std::string>>());
    EXPECT_EQ(tokenizer.decode(ids_of(line)), line.at("decoded").get<std::string>());
    EXPECT_EQ(tokenizer.decode(ids_of(line), true), line.at("decoded_skip_special").get<std::string>());
    matched += e.ids == ids_of(line);
  }
  EXPECT_EQ(matched, lines.size());
}

TEST(BpeGolden, Qwen2MatchesTokenizersOnEveryText) { expect_golden(qwen2(), "qwen_bpe_golden.jsonl", 300); }

TEST(BpeGolden, Qwen2DecodeRoundTripsNfcText) {
  // The generator checked decoded == NFC(text) with JavaScript's own
  // String.normalize; here decode(encode(x)) must give that text back.
  for (const auto& line : read_jsonl(fixture("qwen_bpe_golden.jsonl"))) {
    const std::string text = line.at("text");
    EXPECT_EQ(qwen2().decode(qwen2().encode(text).ids), line.at("decoded").get<std::string>()) << text;
  }
}

TEST(BpeGolden, Qwen2DecodesIllFormedBytesLikeFromUtf8Lossy) {
  const auto lines = read_jsonl(fixture("qwen_bpe_decode_golden.jsonl"));
  ASSERT_GE(lines.size(), 30u);
  for (const auto& line : lines)
    EXPECT_EQ(qwen2().decode(ids_of(line)), line.at("decoded").get<std::string>()) << line.dump();
}

TEST(BpeGolden, AddedTokenOptionsMatchTokenizers) {
  // lstrip / rstrip / single_word / normalized=true / special=false, "a b"
  // merges, GPT-2 ByteLevel with use_regex and add_prefix_space.
  const auto tiny = BytePairEncoding::from_tokenizer_json(fixture("qwen_tiny_options_tokenizer.json"));
  expect_golden(tiny, "qwen_tiny_options_golden.jsonl", 40);
}

TEST(BpeGolden, O200kSplitRegexMatchesTokenizers) {
  // Phi-4's o200k pre_tokenizer (no normaliser; Split with Removed + invert,
  // case classes, \p{N}{1,3}) swapped into the Qwen2 file.
  nlohmann::json j;
  {
    std::ifstream in(qwen2_tokenizer_path());
    j = nlohmann::json::parse(in);
  }
  std::ifstream split_in(fixture("qwen_o200k_split.json"));
  const auto split = nlohmann::json::parse(split_in);
  j["normalizer"] = split.at("normalizer");
  j["pre_tokenizer"] = split.at("pre_tokenizer");
  const auto path = std::filesystem::path(qwen2_tokenizer_path()).parent_path() /
                    ("qwen_o200k_split." + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << j.dump();
  const auto tokenizer = BytePairEncoding::from_tokenizer_json(path.string());
  std::filesystem::remove(path);
  const auto lines = read_jsonl(fixture("qwen_o200k_split_golden.jsonl"));
  ASSERT_GE(lines.size(), 300u);
  for (const auto& line : lines) {
    const std::string text = line.at("text");
    const auto e = tokenizer.encode(text);
    EXPECT_EQ(e.ids, ids_of(line)) << text;
    EXPECT_EQ(e.tokens, line.at("tokens").get<std::vector<std::string>>()) << text;
  }
}

}  // namespace
}  // namespace mechlens::tokenize::test
