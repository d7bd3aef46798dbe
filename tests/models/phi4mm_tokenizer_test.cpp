// The phi4mm adapter's tokenizer on the real o200k vocabulary with Phi's added
// tokens, against ids the Hugging Face `tokenizers` library (Rust, through its
// Node binding) produced for 433 strings (tools/fixtures/make_phi4mm_golden.mjs),
// and the chat format's token ids.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "models/phi4mm/phi4mm_tokenizer.hpp"

namespace mechlens::models::phi4mm {
namespace {

std::string fixture(const std::string& name) { return std::string(MECHLENS_TEST_DATA) + "/models/fixtures/" + name; }

// The committed tokenizer.json.gz unpacked once into a folder of its own
// (a checkpoint folder holding only the tokenizer).
const tokenize::BytePairEncoding& phi4mm() {
  static const tokenize::BytePairEncoding tokenizer = [] {
    const auto dir = std::filesystem::path(MECHLENS_BINARY_DIR) / "test_tmp" / "phi4mm_tokenizer";
    std::filesystem::create_directories(dir);
    const std::string out = (dir / "tokenizer.json").string(), mine = out + "." + std::to_string(::getpid());
    const std::string command = "gzip -dc '" + fixture("phi4mm_tokenizer.json.gz") + "' > '" + mine + "'";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
    std::filesystem::rename(mine, out);
    return load_phi4mm_tokenizer(dir.string());
  }();
  return tokenizer;
}

TEST(Phi4mmTokenizer, MatchesHuggingFaceTokenizersOnTheGoldenStrings) {
  std::ifstream in(fixture("phi4mm_golden.jsonl"));
  ASSERT_TRUE(in) << fixture("phi4mm_golden.jsonl");
  std::string line;
  int n = 0, wrong = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    const std::string text = j.at("text");
    const tokenize::Encoding e = phi4mm().encode(text);
    const auto ids = j.at("ids").get<std::vector<std::int64_t>>();
    ++n;
    if (e.ids != ids) {
      if (++wrong <= 5) ADD_FAILURE() << "ids differ for " << nlohmann::json(text).dump();
      continue;
    }
    EXPECT_EQ(e.tokens, j.at("tokens").get<std::vector<std::string>>()) << nlohmann::json(text).dump();
    EXPECT_EQ(phi4mm().decode(e.ids), text);
  }
  EXPECT_GE(n, 400);
  EXPECT_EQ(wrong, 0) << wrong << " of " << n << " strings";
}

TEST(Phi4mmTokenizer, ChatTokensAndFormat) {
  const ChatTokens t = chat_tokens(phi4mm());
  EXPECT_EQ(t.user, 200021);
  EXPECT_EQ(t.end, 200020);
  EXPECT_EQ(t.assistant, 200019);
  EXPECT_EQ(t.image, 200010);
  ASSERT_TRUE(t.audio.has_value());
  EXPECT_EQ(*t.audio, 200011);
  EXPECT_EQ(chat_prompt("Hi"), "<|user|>Hi<|end|><|assistant|>");
  const EncodedInput e = encode_phi4mm_chat(phi4mm(), "What is shown in this image?");
  ASSERT_GE(e.ids.size(), 4u);
  EXPECT_EQ(e.ids.front(), 200021);
  EXPECT_EQ(e.ids[e.ids.size() - 2], 200020);
  EXPECT_EQ(e.ids.back(), 200019);
  EXPECT_EQ(e.annotations.front().modality, Modality::special);
  EXPECT_EQ(e.annotations[1].modality, Modality::text);
  EXPECT_EQ(e.annotations.back().modality, Modality::special);
  const EncodedInput raw = encode_phi4mm_text(phi4mm(), "x<|endoftext10|>y");
  ASSERT_EQ(raw.ids.size(), 3u);
  EXPECT_EQ(raw.annotations[1].modality, Modality::image);
}

}  // namespace
}  // namespace mechlens::models::phi4mm
