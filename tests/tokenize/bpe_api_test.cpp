// BytePairEncoding's interface: the LLaVA-OneVision added tokens, added-token
// splitting, lookups and their errors, the two merge spellings, the split
// behaviours, and tokenizer.json files it must refuse.
#include <algorithm>

#include "bpe_fixture.hpp"
#include "mechlens/error.hpp"

namespace mechlens::tokenize::test {
namespace {

using nlohmann::json;

json tiny_json() {
  std::ifstream in(fixture("qwen_tiny_options_tokenizer.json"));
  return json::parse(in);
}

std::string write_temp(const std::string& name, const json& j) {
  const auto dir = std::filesystem::path(MECHLENS_BINARY_DIR) / "test_tmp" / "bpe";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path) << j.dump();
  return path;
}

// The message of the mechlens::Error that `f` throws ("" if none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const mechlens::Error& e) {
    return e.what();
  }
  return "";
}

std::vector<std::int64_t> concat(std::initializer_list<std::vector<std::int64_t>> parts) {
  std::vector<std::int64_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(BpeApi, LlavaOnevisionAddedTokens) {
  // Qwen2's three specials, then the two tokens transformers'
  // convert_llava_onevision_weights_to_hf.py adds (image_token_index 151646).
  const auto& t = qwen2();
  EXPECT_EQ(t.id("<|endoftext|>"), 151643);
  EXPECT_EQ(t.id("<|im_start|>"), 151644);
  EXPECT_EQ(t.id("<|im_end|>"), 151645);
  EXPECT_EQ(t.id("<image>"), 151646);
  EXPECT_EQ(t.id("<video>"), 151647);
  EXPECT_EQ(t.vocab_size(), 151648u);
  EXPECT_EQ(t.token(151646), "<image>");
  EXPECT_TRUE(t.is_special(151646));
  EXPECT_FALSE(t.is_special(9707));
  EXPECT_FALSE(t.find("<think>"));  // a Qwen3 token, not Qwen2's
  EXPECT_EQ(t.token(0), "!");
  EXPECT_EQ(t.token(151642), t.token(151642));  // last base token exists
}

TEST(BpeApi, AddedTokensSplitTheTextBeforeBpe) {
  const auto& t = qwen2();
  EXPECT_EQ(t.encode("<image>").ids, std::vector<std::int64_t>{151646});
  EXPECT_EQ(t.encode("<image><image>").ids, (std::vector<std::int64_t>{151646, 151646}));
  // Text on either side of an added token is tokenized as if alone.
  for (const std::string left : {"Describe", "a  ", "你好", "x\n"})
    for (const std::string right : {"\nWhat is this?", "  b", "12"})
      EXPECT_EQ(t.encode(left + "<image>" + right).ids,
                concat({t.encode(left).ids, {151646}, t.encode(right).ids}))
          << left << "|" << right;
  const auto chat = t.encode("<|im_start|>user\n<image>\nWhat is this?<|im_end|>");
  ASSERT_GE(chat.ids.size(), 4u);
  EXPECT_EQ(chat.ids.front(), 151644);
  EXPECT_EQ(chat.ids.back(), 151645);
  EXPECT_EQ(std::count(chat.ids.begin(), chat.ids.end(), 151646), 1);
  EXPECT_EQ(chat.tokens.front(), "<|im_start|>");
  // Near misses are ordinary text.
  for (const std::string s : {"<IMAGE>", "< image>", "<imag>", "<|im_start|"}) {
    const auto ids = t.encode(s).ids;
    EXPECT_TRUE(std::none_of(ids.begin(), ids.end(), [](std::int64_t id) { return id >= 151643; })) << s;
  }
}

TEST(BpeApi, DecodeSkipsSpecialTokensOnRequest) {
  const auto& t = qwen2();
  const auto ids = t.encode("<|im_start|>user\n<image>\nHi<|im_end|>").ids;
  EXPECT_EQ(t.decode(ids), "<|im_start|>user\n<image>\nHi<|im_end|>");
  EXPECT_EQ(t.decode(ids, true), "user\n\nHi");
  EXPECT_EQ(t.decode({}), "");
}

TEST(BpeApi, UnknownIdsAndTokensAreErrors) {
  const auto& t = qwen2();
  EXPECT_FALSE(t.find("definitely not a token"));
  EXPECT_NE(error_of([&] { t.id("definitely not a token"); }).find("'definitely not a token'"), std::string::npos);
  for (std::int64_t bad : {std::int64_t{-1}, std::int64_t{151648}, std::int64_t{1} << 40}) {
    const std::string message = error_of([&] { t.token(bad); });
    EXPECT_NE(message.find("token id " + std::to_string(bad)), std::string::npos) << message;
    EXPECT_NE(error_of([&] { t.decode({9707, bad}); }), "");
  }
}

TEST(BpeApi, InvalidUtf8IsAnErrorNamingTheByte) {
  const auto& t = qwen2();
  EXPECT_NE(error_of([&] { t.encode("ab\xC3"); }).find("byte 2"), std::string::npos);
  EXPECT_NE(error_of([&] { t.encode("\xFF"); }).find("byte 0"), std::string::npos);
  EXPECT_NE(error_of([&] { t.encode("ok \xED\xA0\x80"); }).find("byte 3"), std::string::npos);  // a surrogate
  EXPECT_TRUE(t.encode("").ids.empty());
}

TEST(BpeApi, MergesAsPairsOrStringsGiveTheSameTokenizer) {
  json pairs = tiny_json();
  ASSERT_TRUE(pairs["model"]["merges"][0].is_string());
  for (auto& m : pairs["model"]["merges"]) {
    const std::string s = m.get<std::string>();
    m = json::array({s.substr(0, s.find(' ')), s.substr(s.find(' ') + 1)});
  }
  const auto a = BytePairEncoding::from_tokenizer_json(fixture("qwen_tiny_options_tokenizer.json"));
  const auto b = BytePairEncoding::from_tokenizer_json(write_temp("tiny_pairs.json", pairs));
  for (const auto& line : read_jsonl(fixture("qwen_tiny_options_golden.jsonl"))) {
    const std::string text = line.at("text");
    EXPECT_EQ(a.encode(text).ids, b.encode(text).ids) << text;
  }
}

TEST(BpeApi, AddedTokenIdsFollowTokenizersNotTheFile) {
  // The tiny file declares <|end|> as 9999; tokenizers numbers new added
  // tokens on from the vocabulary, and a token already in it ("he") keeps its id.
  const auto tiny = BytePairEncoding::from_tokenizer_json(fixture("qwen_tiny_options_tokenizer.json"));
  const json j = tiny_json();
  const auto base = static_cast<std::int64_t>(j["model"]["vocab"].size());
  EXPECT_EQ(tiny.id("<|end|>"), base);
  EXPECT_EQ(tiny.id("<|end|>x"), base + 1);
  EXPECT_EQ(tiny.id("he"), j["model"]["vocab"]["he"].get<std::int64_t>());
  EXPECT_EQ(tiny.vocab_size(), static_cast<std::size_t>(base + 8));
  EXPECT_EQ(tiny.decode({tiny.id("<｜User｜>")}), "<｜User｜>");  // outside the byte alphabet: its own UTF-8
}

TEST(BpeApi, SplitBehavioursMatchTokenizers) {
  const auto lines = read_jsonl(fixture("qwen_tiny_split_golden.jsonl"));
  ASSERT_GE(lines.size(), 200u);
  json j = tiny_json();
  std::string current;
  std::optional<BytePairEncoding> t;
  for (const auto& line : lines) {
    if (line["pre_tokenizer"].dump() != current) {
      current = line["pre_tokenizer"].dump();
      j["pre_tokenizer"] = line["pre_tokenizer"];
      t = BytePairEncoding::from_tokenizer_json(write_temp("tiny_split.json", j));
    }
    const std::string text = line.at("text");
    const auto e = t->encode(text);
    EXPECT_EQ(e.ids, line.at("ids").get<std::vector<std::int64_t>>()) << current << " " << text;
    EXPECT_EQ(e.tokens, line.at("tokens").get<std::vector<std::string>>()) << current << " " << text;
  }
}

TEST(BpeApi, RefusesFilesItCannotReproduce) {
  const auto refuse = [](const std::string& name, json j, const std::string& expected) {
    const std::string path = write_temp(name, j);
    const std::string message = error_of([&] { BytePairEncoding::from_tokenizer_json(path); });
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << name << ": " << message;
  };
  json j = tiny_json();
  j["model"]["type"] = "WordPiece";
  refuse("wordpiece.json", j, "model.type");
  j = tiny_json();
  j["model"]["merges"][3] = "Ġ zzzz";
  refuse("merge.json", j, "model.merges[3]");
  j = tiny_json();
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  refuse("whitespace.json", j, "Whitespace");
  j = tiny_json();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "\\s+"}}}, {"behavior", "Isolated"}, {"invert", false}};
  refuse("no_byte_level.json", j, "ByteLevel");
  j = tiny_json();
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers", json::array({{{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}},
                                                        {"behavior", "Isolated"}, {"invert", false}},
                                                       j["pre_tokenizer"]})}};
  refuse("regex.json", j, "(unclosed");
  j = tiny_json();
  j["normalizer"] = {{"type", "Lowercase"}};
  refuse("lowercase.json", j, "Lowercase");
  j = tiny_json();
  j["decoder"] = {{"type", "WordPiece"}};
  refuse("decoder.json", j, "decoder");
  const std::string missing = fixture("no_such_tokenizer.json");
  EXPECT_NE(error_of([&] { BytePairEncoding::from_tokenizer_json(missing); }).find(missing), std::string::npos);
}

}  // namespace
}  // namespace mechlens::tokenize::test
