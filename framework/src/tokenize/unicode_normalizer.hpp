#pragma once
// The `normalizer` of a byte-level BPE tokenizer.json: null, one Unicode
// normal form (NFC for Qwen2; o200k has none), or a Sequence of them.
// Other normalizer types are refused by name rather than silently skipped.
#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace mechlens::tokenize {

class UnicodeNormalizer {
 public:
  enum class Form { nfc, nfd, nfkc, nfkd };

  UnicodeNormalizer() = default;  // identity
  // `where` names the file for errors.
  static UnicodeNormalizer from_json(const nlohmann::json& node, const std::string& where);

  std::string apply(const std::string& text) const;
  bool identity() const { return forms_.empty(); }

 private:
  std::vector<Form> forms_;
};

}  // namespace mechlens::tokenize
