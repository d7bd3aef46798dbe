#pragma once
// A Hugging Face checkpoint directory: config.json plus model.safetensors, or
// shards listed in model.safetensors.index.json. Adapters ask for tensors by
// name; the checkpoint remembers which were taken so that tensors nobody used
// ("extra") can be reported by name, as can missing ones.
#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checkpoint/config.hpp"
#include "checkpoint/safetensors.hpp"
#include "mechlens/model.hpp"

namespace mechlens::checkpoint {

class Checkpoint {
 public:
  // Errors name the directory, the index and shard files, the tensor.
  static Checkpoint open(const std::string& directory);

  Checkpoint() = default;
  // A copy points its name index at its own file list (mappings are shared);
  // moves keep the files where they are.
  Checkpoint(const Checkpoint& other);
  Checkpoint& operator=(const Checkpoint& other);
  Checkpoint(Checkpoint&&) = default;
  Checkpoint& operator=(Checkpoint&&) = default;

  const std::string& directory() const { return directory_; }
  const Config& config() const { return config_; }
  bool has(const std::string& name) const;
  std::vector<std::string> names() const;
  // The weight files, as opened (paths), in order.
  std::vector<std::string> file_paths() const;
  const TensorView& view(const std::string& name) const;  // error names tensor and directory

  // The tensor as `options` (dtype/device; no dtype = as stored). When the
  // stored dtype equals the requested one and the device is CPU the result
  // aliases the read-only mapping (no copy; the mapping lives as long as the
  // tensor): never write to it in place (copy_, add_, ...), that would fault.
  // Otherwise a converted copy. Floating-point to integer is refused.
  // `expected_shape` is checked exactly ({} = a scalar): a mismatch names the
  // tensor, file, both shapes. Marks the name as used.
  at::Tensor load(const std::string& name, const std::vector<std::int64_t>& expected_shape,
                  const at::TensorOptions& options) const;
  // For a tensor `load` returned aliasing a mapping, after the adapter copied
  // it elsewhere (e.g. stacked q/k/v): its pages leave this process's
  // resident set. Nothing happens for a tensor that is not an alias.
  void release_pages(const at::Tensor& alias) const;
  // First of `names` that exists (spelling variants: gamma/weight, prefixes).
  std::optional<std::string> first_present(const std::vector<std::string>& names) const;

  // Names never loaded, excluding those matching `ignorable` globs.
  // Globs: '*' matches any run of characters (dots included), '?' one.
  std::vector<std::string> unused(const std::vector<std::string>& ignorable = {}) const;
  // Throws naming the first few tensors nobody loaded.
  void require_all_used(const std::vector<std::string>& ignorable = {}) const;

  // config.json's SHA-256, the weight files relative to the directory, and
  // a SHA-256 over every file's header JSON in file order.
  CheckpointIdentity identity(const std::string& format) const;

 private:
  void build_index();  // index_ from files_; duplicates across files are errors
  [[noreturn]] void missing(const std::string& name) const;
  std::string directory_;
  Config config_;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, std::pair<std::size_t, const TensorView*>> index_;  // name → file
  mutable std::set<std::string> used_;
};

}  // namespace mechlens::checkpoint
