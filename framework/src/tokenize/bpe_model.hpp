#pragma once
// The BPE `model` of a byte-level tokenizer.json: vocabulary, merge ranks and
// the merge loop of tokenizers' models/bpe (word.rs `merge_all`): a priority
// queue of adjacent pairs ordered by (rank, position), lowest first, entries
// made stale by an earlier merge skipped. Pieces arrive as raw bytes; each
// byte's initial symbol is the vocabulary id of its byte-level character.
#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mechlens::tokenize {

class BpeModel {
 public:
  // `model` is tokenizer.json's "model" object; `where` names the file.
  static BpeModel from_json(const nlohmann::json& model, const std::string& where);

  BpeModel() = default;
  BpeModel(BpeModel&& other) noexcept;
  BpeModel& operator=(BpeModel&& other) noexcept;

  // Appends the ids of one pre-token (raw UTF-8 bytes).
  void encode_piece(std::string_view bytes, std::vector<std::int64_t>& ids) const;

  std::optional<std::int64_t> find(const std::string& token) const;
  const std::string* token(std::int64_t id) const;  // nullptr: no such id
  std::size_t entries() const { return vocab_.size(); }
  std::int64_t end_id() const { return static_cast<std::int64_t>(tokens_.size()); }  // highest id + 1

 private:
  struct Merge {
    std::int32_t rank;
    std::int32_t new_id;
  };
  static std::uint64_t key(std::int32_t a, std::int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
  }
  void merge_word(std::string_view bytes, std::vector<std::int32_t>& out) const;

  std::unordered_map<std::string, std::int32_t> vocab_;
  std::vector<std::string> tokens_;  // by id; an id without a token is empty and absent from vocab_
  std::vector<bool> present_;
  std::array<std::int32_t, 256> byte_ids_{};  // -1: the byte's character is not in the vocabulary
  std::unordered_map<std::uint64_t, Merge> merges_;
  bool ignore_merges_ = false;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  std::optional<std::int32_t> unk_;

  // Pieces already merged (tokenizers keeps 10,000 such words).
  static constexpr std::size_t kCacheCapacity = 10000;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<std::int32_t>> cache_;
};

}  // namespace mechlens::tokenize
