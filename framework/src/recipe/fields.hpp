#pragma once
// How the loader reads a checked entry: only through keys the schema
// declares (reading any other is an internal error), with the schema's
// defaults. Every read is recorded, so a test can check that the loader uses
// every key the schema declares and no other.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "recipe/check.hpp"

namespace mechlens::recipe::detail {

class Fields {
 public:
  explicit Fields(const Entry& entry) : entry_(entry) {}

  bool has(const std::string& key) const;  // given or defaulted
  std::string str(const std::string& key) const;  // "" when absent
  std::int64_t integer(const std::string& key) const;
  std::vector<std::string> strings(const std::string& key) const;
  std::vector<double> reals(const std::string& key) const;  // float[]; empty when absent
  Source source(const std::string& key) const;  // the entry's line when the key is absent
  const Entry& entry() const { return entry_; }

 private:
  const Item* find(const std::string& key) const;
  const Entry& entry_;
};

// The key ids ("model.dtype", "inputs(image folder).limit") read so far in this
// process, in the form Schema::key_ids() gives them.
std::set<std::string> keys_read();

}  // namespace mechlens::recipe::detail
