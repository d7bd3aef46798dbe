#pragma once
// Hook points, named as in TransformerLens ("blocks.3.attn.hook_z"). Every
// layer passes each intermediate tensor through one call, HookSet::point, at
// the place the tensor is made, so no layer can forget a hook point.
//
// A read hook sees the tensor (caching); a write hook returns a replacement.
// A write hook may expand a batch of 1 to a batch of B (broadcasting): this
// is how a sweep reuses everything computed before the intervention point.
// Layers are written so that the batch dimension broadcasts.
#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mechlens {

using ReadHook = std::function<void(const std::string& name, const at::Tensor& value)>;
using WriteHook = std::function<at::Tensor(const std::string& name, const at::Tensor& value)>;

// `pattern` is a name or a glob ('*' matches any run of characters, dots
// included, e.g. "blocks.*.attn.hook_pattern"; '?' one character).
bool hook_name_matches(const std::string& pattern, const std::string& name);

class HookSet {
 public:
  HookSet();
  ~HookSet();
  HookSet(HookSet&&) noexcept;
  HookSet& operator=(HookSet&&) noexcept;

  void add_read(std::string pattern, ReadHook hook);
  void add_write(std::string pattern, WriteHook hook);
  // Read hook that stores a detached copy under its name (run_with_cache).
  void cache(std::string pattern);

  bool empty() const;
  // True when some hook listens at `name`: lets a layer skip materialising
  // tensors nobody reads (e.g. the full attention pattern).
  bool wants(const std::string& name) const;
  // Called by layers: runs write hooks (in order of registration), then read
  // hooks, and returns the (possibly replaced) tensor.
  at::Tensor point(const std::string& name, at::Tensor value) const;

  const std::map<std::string, at::Tensor>& cached() const;
  void clear_cache();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Handy for layers: hook names below a prefix ("blocks.3." / "vision.blocks.0.").
class HookScope {
 public:
  HookScope(const HookSet* hooks, std::string prefix) : hooks_(hooks), prefix_(std::move(prefix)) {}
  at::Tensor operator()(const char* local, at::Tensor value) const {
    if (!hooks_ || hooks_->empty()) return value;
    return hooks_->point(prefix_ + local, std::move(value));
  }
  bool wants(const char* local) const { return hooks_ && !hooks_->empty() && hooks_->wants(prefix_ + local); }
  HookScope sub(const std::string& more) const { return HookScope(hooks_, prefix_ + more); }

 private:
  const HookSet* hooks_;
  std::string prefix_;
};

}  // namespace mechlens
