#include "tiny_bpe.hpp"

#include <algorithm>
#include <map>

namespace mechlens::tiny {
namespace {

std::string utf8(unsigned code) {
  std::string s;
  if (code < 0x80) {
    s += static_cast<char>(code);
  } else if (code < 0x800) {
    s += static_cast<char>(0xC0 | (code >> 6));
    s += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    s += static_cast<char>(0xE0 | (code >> 12));
    s += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (code & 0x3F));
  }
  return s;
}

// Printable ASCII and Latin-1 bytes map to themselves, the rest to 256 + n
// (openai/gpt-2 encoder.py, bytes_to_unicode). Returned in id order.
std::vector<std::pair<int, std::string>> bytes_in_id_order() {
  std::vector<int> bs;
  for (int b = '!'; b <= '~'; ++b) bs.push_back(b);
  for (int b = 0xA1; b <= 0xAC; ++b) bs.push_back(b);
  for (int b = 0xAE; b <= 0xFF; ++b) bs.push_back(b);
  std::vector<std::pair<int, std::string>> out;
  for (int b : bs) out.emplace_back(b, utf8(b));
  int n = 0;
  for (int b = 0; b < 256; ++b)
    if (std::find(bs.begin(), bs.end(), b) == bs.end()) out.emplace_back(b, utf8(256 + n++));
  return out;
}

const char* const kCorpus =
    "What is shown in this image? The image shows a red ball on the left and a blue box on the right. "
    "Where is the red ball? The red ball is on the left of the blue box. What colour is the box? The box is blue. "
    "A green triangle is above a yellow circle in the middle of the picture. How many objects are there? "
    "There are three objects in the picture: a cat, a dog and a bird. The cat sat on the mat. "
    "The dog is under the table and the bird is in the tree. Describe the scene in one word. "
    "The quick brown fox jumps over the lazy dog. When Mary and John went to the store, John gave a drink to Mary. "
    "Is there a person in this image? Yes, there is a person standing next to a car. The answer is yes. "
    "The answer is no. What is the capital of France? The capital of France is Paris. "
    "Count the objects: one, two, three, four, five, six, seven, eight, nine, ten. "
    "The top left corner is black and the bottom right corner is white. The colour of the sky is blue. "
    "What is the object at the top of the image? It is a small orange square. Please answer the question. "
    "The model reads the tokens of the text and the patches of the image, then predicts the next word. "
    "Attention heads move information between positions; the last token attends to the image tokens. "
    "There is a red apple, a green pear and a yellow banana on the table. Which fruit is red? The apple is red.";

// Pre-tokens as the Qwen2 regex cuts plain English: an optional space then
// letters, single digits, an optional space then punctuation, whitespace.
std::vector<std::string> pre_tokens(const std::string& text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  while (i < text.size()) {
    std::size_t j = i;
    if (text[j] == ' ' && j + 1 < text.size() && text[j + 1] != ' ') ++j;
    if (alpha(text[j])) {
      while (j < text.size() && alpha(text[j])) ++j;
    } else if (digit(text[j])) {
      ++j;
    } else if (text[j] == ' ') {
      while (j < text.size() && text[j] == ' ') ++j;
    } else {
      while (j < text.size() && !alpha(text[j]) && !digit(text[j]) && text[j] != ' ') ++j;
    }
    out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

const std::vector<std::string>& byte_level_alphabet() {
  static const std::vector<std::string> table = [] {
    std::vector<std::string> t(256);
    for (const auto& [byte, text] : bytes_in_id_order()) t[byte] = text;
    return t;
  }();
  return table;
}

TinyBpe train_tiny_bpe(int n_merges) {
  TinyBpe bpe;
  for (const auto& [byte, text] : bytes_in_id_order()) bpe.vocab.push_back(text);
  // Words as sequences of byte-level symbols, with their counts.
  std::map<std::vector<std::string>, int> words;
  for (const auto& piece : pre_tokens(kCorpus)) {
    std::vector<std::string> symbols;
    for (unsigned char c : piece) symbols.push_back(byte_level_alphabet()[c]);
    ++words[symbols];
  }
  for (int m = 0; m < n_merges; ++m) {
    std::map<std::pair<std::string, std::string>, int> pairs;
    for (const auto& [symbols, count] : words)
      for (std::size_t i = 0; i + 1 < symbols.size(); ++i) pairs[{symbols[i], symbols[i + 1]}] += count;
    // Most frequent pair; ties go to the smallest pair (std::map order), so training is deterministic.
    const std::pair<std::string, std::string>* best = nullptr;
    int best_count = 1;
    for (const auto& [pair, count] : pairs)
      if (count > best_count) best = &pair, best_count = count;
    if (!best) break;
    const auto merge = *best;
    bpe.merges.push_back(merge);
    bpe.vocab.push_back(merge.first + merge.second);
    std::map<std::vector<std::string>, int> next;
    for (const auto& [symbols, count] : words) {
      std::vector<std::string> merged;
      for (std::size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == merge.first && symbols[i + 1] == merge.second) {
          merged.push_back(merge.first + merge.second);
          ++i;
        } else {
          merged.push_back(symbols[i]);
        }
      }
      next[merged] += count;
    }
    words = std::move(next);
  }
  return bpe;
}

nlohmann::json tiny_tokenizer_json(const TinyBpe& bpe, const std::vector<AddedToken>& added) {
  using nlohmann::json;
  json vocab = json::object();
  for (std::size_t id = 0; id < bpe.vocab.size(); ++id) vocab[bpe.vocab[id]] = id;
  json merges = json::array();
  for (const auto& [a, b] : bpe.merges) merges.push_back(a + " " + b);
  json added_tokens = json::array();
  for (std::size_t i = 0; i < added.size(); ++i)
    added_tokens.push_back({{"id", bpe.vocab.size() + i},
                            {"content", added[i].content},
                            {"single_word", false},
                            {"lstrip", false},
                            {"rstrip", false},
                            {"normalized", false},
                            {"special", added[i].special}});
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  // The Qwen2 pre-tokenizer regex, as in Qwen2's tokenizer.json.
  const std::string regex =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added_tokens},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}}, byte_level}}}},
      {"post_processor", byte_level},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", merges}}},
  };
}

}  // namespace mechlens::tiny
