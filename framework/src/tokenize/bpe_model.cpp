#include "tokenize/bpe_model.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <queue>

#include "mechlens/error.hpp"
#include "tokenize/byte_level.hpp"

namespace mechlens::tokenize {

BpeModel::BpeModel(BpeModel&& o) noexcept
    : vocab_(std::move(o.vocab_)), tokens_(std::move(o.tokens_)), present_(std::move(o.present_)),
      byte_ids_(o.byte_ids_), merges_(std::move(o.merges_)), ignore_merges_(o.ignore_merges_),
      byte_fallback_(o.byte_fallback_), fuse_unk_(o.fuse_unk_), unk_(o.unk_) {}

BpeModel& BpeModel::operator=(BpeModel&& o) noexcept {
  vocab_ = std::move(o.vocab_);
  tokens_ = std::move(o.tokens_);
  present_ = std::move(o.present_);
  byte_ids_ = o.byte_ids_;
  merges_ = std::move(o.merges_);
  ignore_merges_ = o.ignore_merges_;
  byte_fallback_ = o.byte_fallback_;
  fuse_unk_ = o.fuse_unk_;
  unk_ = o.unk_;
  std::lock_guard<std::mutex> lock(cache_mutex_);
  cache_.clear();
  return *this;
}

BpeModel BpeModel::from_json(const nlohmann::json& model, const std::string& where) {
  if (!model.is_object() || model.value("type", "") != "BPE")
    fail(where, "model.type is '" + (model.is_object() ? model.value("type", "") : std::string()) + "', expected 'BPE'");
  const auto string_or_null = [&](const char* key) -> std::string {
    if (!model.contains(key) || model[key].is_null()) return "";
    if (!model[key].is_string()) fail(where, std::string("model.") + key + " is not a string");
    return model[key].get<std::string>();
  };
  if (!string_or_null("continuing_subword_prefix").empty() || !string_or_null("end_of_word_suffix").empty())
    fail(where, "model.continuing_subword_prefix / end_of_word_suffix are not supported for byte-level BPE");
  if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"].get<double>() != 0.0)
    fail(where, "model.dropout is set: BPE dropout is for training, not for reproducible inference");

  BpeModel m;
  if (!model.contains("vocab") || !model["vocab"].is_object()) fail(where, "model.vocab is missing or not an object");
  const auto& vocab = model["vocab"];
  m.vocab_.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer()) fail(where, "model.vocab['" + it.key() + "'] is not an integer id");
    const auto id = it.value().get<std::int64_t>();
    if (id < 0 || id > 0x7fffffff) fail(where, "model.vocab['" + it.key() + "'] has id " + std::to_string(id));
    if (static_cast<std::size_t>(id) >= m.tokens_.size()) {
      m.tokens_.resize(static_cast<std::size_t>(id) + 1);
      m.present_.resize(static_cast<std::size_t>(id) + 1, false);
    }
    if (m.present_[id]) fail(where, "model.vocab: id " + std::to_string(id) + " is used by '" + m.tokens_[id] + "' and '" + it.key() + "'");
    m.tokens_[id] = it.key();
    m.present_[id] = true;
    m.vocab_.emplace(it.key(), static_cast<std::int32_t>(id));
  }
  const auto& alphabet = byte_level_alphabet();
  for (int b = 0; b < 256; ++b) {
    const auto it = m.vocab_.find(alphabet[b]);
    m.byte_ids_[b] = it == m.vocab_.end() ? -1 : it->second;
  }

  // Merges: "a b" strings (older files) or ["a", "b"] pairs (tokenizers >= 0.20).
  if (!model.contains("merges") || !model["merges"].is_array()) fail(where, "model.merges is missing or not a list");
  const auto& merges = model["merges"];
  m.merges_.reserve(merges.size());
  std::int32_t rank = 0;
  for (const auto& entry : merges) {
    const std::string at = "model.merges[" + std::to_string(rank) + "]";
    std::string a, b;
    if (entry.is_string()) {
      const auto& s = entry.get_ref<const std::string&>();
      const auto space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        fail(where, at + " '" + s + "' is not two tokens separated by one space");
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_string()) {
      a = entry[0].get<std::string>();
      b = entry[1].get<std::string>();
    } else {
      fail(where, at + " is neither \"a b\" nor [\"a\", \"b\"]");
    }
    const auto ia = m.vocab_.find(a), ib = m.vocab_.find(b), inew = m.vocab_.find(a + b);
    if (ia == m.vocab_.end()) fail(where, at + ": '" + a + "' is not in the vocabulary");
    if (ib == m.vocab_.end()) fail(where, at + ": '" + b + "' is not in the vocabulary");
    if (inew == m.vocab_.end()) fail(where, at + ": the merged token '" + a + b + "' is not in the vocabulary");
    // A repeated pair keeps its last rank, as tokenizers' HashMap collect does.
    m.merges_[key(ia->second, ib->second)] = Merge{rank, inew->second};
    ++rank;
  }

  m.ignore_merges_ = model.value("ignore_merges", false);
  m.byte_fallback_ = model.value("byte_fallback", false);
  m.fuse_unk_ = model.value("fuse_unk", false);
  const std::string unk = string_or_null("unk_token");
  if (!unk.empty()) {
    const auto it = m.vocab_.find(unk);
    if (it == m.vocab_.end()) fail(where, "model.unk_token '" + unk + "' is not in the vocabulary");
    m.unk_ = it->second;
  }
  return m;
}

void BpeModel::merge_word(std::string_view bytes, std::vector<std::int32_t>& out) const {
  struct Symbol {
    std::int32_t id;
    int prev, next;
    bool live;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(bytes.size());
  const auto add = [&](std::int32_t id) {
    const int n = static_cast<int>(symbols.size());
    if (n > 0) symbols.back().next = n;
    symbols.push_back({id, n - 1, -1, true});
  };
  // Initial symbols (models/bpe/model.rs `merge_word`): a character missing
  // from the vocabulary becomes byte-fallback tokens, else [UNK] (fused when
  // asked), else it is dropped, as tokenizers does.
  std::optional<std::int32_t> pending_unk;
  for (unsigned char byte : bytes) {
    if (byte_ids_[byte] >= 0) {
      if (pending_unk) add(*pending_unk), pending_unk.reset();
      add(byte_ids_[byte]);
      continue;
    }
    if (byte_fallback_) {
      std::vector<std::int32_t> fallback;
      for (unsigned char u : byte_level_alphabet()[byte]) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", u);
        const auto it = vocab_.find(name);
        if (it == vocab_.end()) break;
        fallback.push_back(it->second);
      }
      if (fallback.size() == byte_level_alphabet()[byte].size()) {
        for (auto id : fallback) add(id);
        continue;
      }
    }
    if (unk_) {
      if (pending_unk && !fuse_unk_) add(*pending_unk);
      pending_unk = *unk_;
    }
  }
  if (pending_unk) add(*pending_unk);

  struct Candidate {
    std::int32_t rank;
    int pos;
    std::int32_t new_id;
    bool operator<(const Candidate& o) const {  // std::priority_queue pops the largest: invert
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate> queue;
  const auto consider = [&](int pos) {
    const int next = symbols[pos].next;
    if (next < 0) return;
    const auto it = merges_.find(key(symbols[pos].id, symbols[next].id));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.new_id});
  };
  for (int i = 0; i + 1 < static_cast<int>(symbols.size()); ++i) consider(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (!left.live || left.next < 0) continue;
    // Skip a pair that an earlier merge has changed.
    const auto it = merges_.find(key(left.id, symbols[left.next].id));
    if (it == merges_.end() || it->second.new_id != top.new_id) continue;
    Symbol& right = symbols[left.next];
    left.id = top.new_id;
    right.live = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) consider(left.prev);
    consider(top.pos);
  }
  for (const Symbol& s : symbols)
    if (s.live) out.push_back(s.id);
}

void BpeModel::encode_piece(std::string_view bytes, std::vector<std::int64_t>& ids) const {
  if (bytes.empty()) return;
  if (ignore_merges_) {
    // A piece that is itself a token is taken whole (models/bpe/model.rs, tokenize_with_cache).
    const auto it = vocab_.find(to_byte_level(bytes));
    if (it != vocab_.end()) {
      ids.push_back(it->second);
      return;
    }
  }
  const std::string key(bytes);
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    const auto it = cache_.find(key);
    if (it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<std::int32_t> word;
  merge_word(bytes, word);
  ids.insert(ids.end(), word.begin(), word.end());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() < kCacheCapacity) cache_.emplace(key, std::move(word));
}

std::optional<std::int64_t> BpeModel::find(const std::string& token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::token(std::int64_t id) const {
  if (id < 0 || id >= end_id() || !present_[static_cast<std::size_t>(id)]) return nullptr;
  return &tokens_[static_cast<std::size_t>(id)];
}

}  // namespace mechlens::tokenize
