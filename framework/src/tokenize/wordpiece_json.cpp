// WordPiece from a Hugging Face tokenizer.json (the `tokenizers` library's
// serialisation): a WordPiece model, a BertNormalizer, a BertPreTokenizer.
#include <nlohmann/json.hpp>

#include <fstream>

#include "mechlens/error.hpp"
#include "tokenize/wordpiece.hpp"

namespace mechlens::tokenize {
namespace {

using nlohmann::json;

const json& member(const json& object, const char* key, const std::string& where) {
  if (!object.is_object() || !object.contains(key)) fail(where, "missing key '" + std::string(key) + "'");
  return object.at(key);
}

template <class T>
T get_or(const json& object, const char* key, T fallback, const std::string& where) {
  if (!object.contains(key) || object.at(key).is_null()) return fallback;
  try {
    return object.at(key).get<T>();
  } catch (const json::exception& e) {
    fail(where, "key '" + std::string(key) + "': " + e.what());
  }
}

}  // namespace

WordPiece WordPiece::from_tokenizer_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open tokenizer.json");
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    fail(path, std::string("invalid JSON: ") + e.what());
  }

  const json& model = member(doc, "model", path);
  const std::string model_where = path + ": model";
  const std::string type = get_or<std::string>(model, "type", "", model_where);
  if (type != "WordPiece") fail(model_where, "type is '" + type + "', expected 'WordPiece'");
  Options o;
  o.unk_token = get_or<std::string>(model, "unk_token", o.unk_token, model_where);
  o.continuing_prefix = get_or<std::string>(model, "continuing_subword_prefix", o.continuing_prefix, model_where);
  o.max_chars_per_word = get_or<int>(model, "max_input_chars_per_word", o.max_chars_per_word, model_where);

  // No normalizer means raw text; only BertNormalizer is supported otherwise.
  const json normalizer = doc.value("normalizer", json());
  if (normalizer.is_null()) {
    fail(path + ": normalizer", "missing; this WordPiece expects a BertNormalizer");
  }
  const std::string norm_where = path + ": normalizer";
  const std::string norm_type = get_or<std::string>(normalizer, "type", "", norm_where);
  if (norm_type != "BertNormalizer") fail(norm_where, "type is '" + norm_type + "', expected 'BertNormalizer'");
  o.clean_text = get_or<bool>(normalizer, "clean_text", true, norm_where);
  o.split_chinese_chars = get_or<bool>(normalizer, "handle_chinese_chars", true, norm_where);
  o.lower_case = get_or<bool>(normalizer, "lowercase", true, norm_where);
  if (normalizer.contains("strip_accents") && !normalizer.at("strip_accents").is_null())
    o.strip_accents = get_or<bool>(normalizer, "strip_accents", true, norm_where);

  const json pre = doc.value("pre_tokenizer", json());
  const std::string pre_type = pre.is_object() ? pre.value("type", std::string()) : std::string();
  if (pre_type != "BertPreTokenizer")
    fail(path + ": pre_tokenizer", "type is '" + pre_type + "', expected 'BertPreTokenizer'");

  // Added tokens are matched whole in the raw text. Normalized ones (matched
  // after normalisation) are not supported rather than silently mis-matched.
  o.special_tokens.clear();
  if (doc.contains("added_tokens") && doc.at("added_tokens").is_array()) {
    for (const auto& t : doc.at("added_tokens")) {
      const std::string where = path + ": added_tokens";
      const auto content = get_or<std::string>(t, "content", "", where);
      if (get_or<bool>(t, "normalized", false, where))
        fail(where, "token '" + content + "' is normalized; only non-normalized added tokens are supported");
      if (get_or<bool>(t, "single_word", false, where) || get_or<bool>(t, "lstrip", false, where) ||
          get_or<bool>(t, "rstrip", false, where))
        fail(where, "token '" + content + "' uses single_word/lstrip/rstrip, which are not supported");
      o.special_tokens.push_back(content);
    }
  }

  const json& vocab = member(model, "vocab", model_where);
  if (!vocab.is_object()) fail(model_where, "vocab is not an object");
  WordPiece wp;
  wp.options_ = std::move(o);
  wp.vocab_.assign(vocab.size(), std::string());
  std::vector<bool> seen(vocab.size(), false);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer()) fail(model_where, "vocab['" + it.key() + "'] is not an integer id");
    const auto id = it.value().get<std::int64_t>();
    if (id < 0 || static_cast<std::size_t>(id) >= vocab.size() || seen[static_cast<std::size_t>(id)])
      fail(model_where, "vocab['" + it.key() + "'] = " + std::to_string(id) +
                            ": ids must be 0.." + std::to_string(vocab.size() - 1) + ", each once");
    seen[static_cast<std::size_t>(id)] = true;
    wp.vocab_[static_cast<std::size_t>(id)] = it.key();
  }
  for (const auto& t : wp.options_.special_tokens)
    if (!vocab.contains(t)) fail(path + ": added_tokens", "token '" + t + "' is not in the model vocabulary");
  wp.index_vocab(path);
  return wp;
}

}  // namespace mechlens::tokenize
