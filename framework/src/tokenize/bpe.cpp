#include "tokenize/bpe.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "mechlens/error.hpp"
#include "tokenize/byte_level.hpp"

namespace mechlens::tokenize {
namespace {

AddedToken added_token_of(const nlohmann::json& node, const std::string& where, std::size_t index) {
  const std::string at = "added_tokens[" + std::to_string(index) + "]";
  if (!node.is_object() || !node.contains("content") || !node["content"].is_string())
    fail(where, at + " has no string 'content'");
  AddedToken t;
  t.content = node["content"].get<std::string>();
  t.id = node.value("id", static_cast<std::int64_t>(-1));
  t.special = node.value("special", false);
  t.single_word = node.value("single_word", false);
  t.lstrip = node.value("lstrip", false);
  t.rstrip = node.value("rstrip", false);
  t.normalized = node.value("normalized", !t.special);  // tokenizers' default: normalized = !special
  return t;
}

}  // namespace

BytePairEncoding BytePairEncoding::from_tokenizer_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open tokenizer.json");
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(path, std::string("not valid JSON: ") + e.what());
  }
  if (!root.is_object() || !root.contains("model")) fail(path, "no 'model' in tokenizer.json");

  BytePairEncoding t;
  t.path_ = path;
  t.normalizer_ = UnicodeNormalizer::from_json(root.value("normalizer", nlohmann::json()), path);
  if (!root.contains("pre_tokenizer") || root["pre_tokenizer"].is_null())
    fail(path, "no pre_tokenizer: not a byte-level BPE tokenizer");
  t.pre_tokenizer_ = std::make_shared<const PreTokenizer>(PreTokenizer::from_json(root["pre_tokenizer"], path));
  const auto& decoder = root.value("decoder", nlohmann::json());
  if (!decoder.is_object() || decoder.value("type", "") != "ByteLevel")
    fail(path, "decoder is not ByteLevel: not a byte-level BPE tokenizer");
  auto model = std::make_shared<BpeModel>(BpeModel::from_json(root["model"], path));

  // Ids as tokenizers assigns them when it loads the file
  // (added_vocabulary.rs, add_tokens): the file's "id" fields are not read back.
  std::vector<AddedToken> added;
  std::unordered_map<std::string, std::int64_t> assigned;
  std::int64_t max_added = -1;
  const auto model_size = static_cast<std::int64_t>(model->entries());
  const auto& list = root.value("added_tokens", nlohmann::json::array());
  for (std::size_t i = 0; i < list.size(); ++i) {
    AddedToken tok = added_token_of(list[i], path, i);
    if (tok.content.empty()) continue;
    if (const auto it = assigned.find(tok.content); it != assigned.end()) {
      tok.id = it->second;
    } else if (const auto in_vocab = model->find(tok.content)) {
      tok.id = *in_vocab;
    } else {
      tok.id = max_added < 0 ? model_size : (max_added >= model_size ? max_added + 1 : model_size);
    }
    assigned.emplace(tok.content, tok.id);
    max_added = std::max(max_added, tok.id);
    bool duplicate = false;
    for (const auto& a : added) duplicate |= a.content == tok.content;
    if (!duplicate) added.push_back(tok);
  }
  t.vocab_end_ = std::max(model->end_id(), max_added + 1);
  t.added_ = AddedTokens(std::move(added), t.normalizer_);
  t.model_ = std::move(model);
  return t;
}

Encoding BytePairEncoding::encode(const std::string& text) const {
  const std::size_t valid = valid_utf8_prefix(text);
  if (valid != text.size()) fail("tokenize", "text is not valid UTF-8 at byte " + std::to_string(valid));
  Encoding out;
  std::vector<AddedTokens::Segment> segments;
  added_.split(text, normalizer_, segments);
  std::vector<std::string> pieces;
  for (const auto& segment : segments) {
    if (segment.id) {
      // tokenizers spells an added token as the text it matched, stripped whitespace included.
      out.ids.push_back(*segment.id);
      out.tokens.push_back(segment.text);
      continue;
    }
    pieces.clear();
    pre_tokenizer_->split(segment.text, pieces);
    const std::size_t first = out.ids.size();
    for (const auto& piece : pieces) model_->encode_piece(piece, out.ids);
    for (std::size_t i = first; i < out.ids.size(); ++i) out.tokens.push_back(token(out.ids[i]));
  }
  return out;
}

std::string BytePairEncoding::decode(const std::vector<std::int64_t>& ids, bool skip_special) const {
  std::string bytes, piece;
  for (std::int64_t id : ids) {
    const std::string& t = token(id);
    // tokenizers skips by content: any token spelled like a special added token.
    if (skip_special) {
      const AddedToken* added = added_.by_content(t);
      if (added && added->special) continue;
    }
    // ByteLevel decoder: a token outside the byte alphabet stands for its own UTF-8.
    if (from_byte_level(t, piece)) bytes += piece;
    else bytes += t;
  }
  return utf8_lossy(bytes);
}

std::optional<std::int64_t> BytePairEncoding::find(const std::string& token) const {
  if (const AddedToken* t = added_.by_content(token)) return t->id;
  return model_->find(token);
}

std::int64_t BytePairEncoding::id(const std::string& token) const {
  const auto found = find(token);
  if (!found) fail(path_, "token '" + token + "' is not in the vocabulary");
  return *found;
}

const std::string& BytePairEncoding::token(std::int64_t id) const {
  if (const AddedToken* t = added_.by_id(id)) return t->content;
  if (const std::string* t = model_->token(id)) return *t;
  fail(path_, "token id " + std::to_string(id) + " is not in the vocabulary (size " + std::to_string(vocab_end_) + ")");
}

bool BytePairEncoding::is_special(std::int64_t id) const {
  const AddedToken* t = added_.by_id(id);
  return t && t->special;
}

}  // namespace mechlens::tokenize
