#include <ATen/ATen.h>

#include <unordered_map>

#include "mechlens/hooks.hpp"

namespace mechlens {

// Glob over the whole name: '*' matches any run of characters (including dots),
// so "blocks.*.attn.hook_z" and "*hook_z" both work.
bool hook_name_matches(const std::string& pattern, const std::string& name) {
  std::size_t p = 0, n = 0, star = std::string::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == name[n] || pattern[p] == '?')) {
      ++p, ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

struct HookSet::Impl {
  struct Entry {
    std::string pattern;
    ReadHook read;
    WriteHook write;
  };
  std::vector<Entry> entries;
  // Which entries fire at a name, memoised: layers call point() many times.
  mutable std::unordered_map<std::string, std::vector<std::size_t>> matches;
  std::map<std::string, at::Tensor> cache;

  const std::vector<std::size_t>& at_name(const std::string& name) const {
    auto it = matches.find(name);
    if (it != matches.end()) return it->second;
    std::vector<std::size_t> hits;
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (hook_name_matches(entries[i].pattern, name)) hits.push_back(i);
    return matches.emplace(name, std::move(hits)).first->second;
  }
};

HookSet::HookSet() : impl_(std::make_unique<Impl>()) {}
HookSet::~HookSet() = default;
HookSet::HookSet(HookSet&&) noexcept = default;
HookSet& HookSet::operator=(HookSet&&) noexcept = default;

void HookSet::add_read(std::string pattern, ReadHook hook) {
  impl_->entries.push_back({std::move(pattern), std::move(hook), nullptr});
  impl_->matches.clear();
}

void HookSet::add_write(std::string pattern, WriteHook hook) {
  impl_->entries.push_back({std::move(pattern), nullptr, std::move(hook)});
  impl_->matches.clear();
}

void HookSet::cache(std::string pattern) {
  Impl* impl = impl_.get();
  add_read(std::move(pattern), [impl](const std::string& name, const at::Tensor& value) {
    impl->cache[name] = value.detach().clone();
  });
}

bool HookSet::empty() const { return impl_->entries.empty(); }

bool HookSet::wants(const std::string& name) const { return !impl_->at_name(name).empty(); }

at::Tensor HookSet::point(const std::string& name, at::Tensor value) const {
  const auto& hits = impl_->at_name(name);
  if (hits.empty()) return value;
  for (std::size_t i : hits)
    if (impl_->entries[i].write) value = impl_->entries[i].write(name, value);
  for (std::size_t i : hits)
    if (impl_->entries[i].read) impl_->entries[i].read(name, value);
  return value;
}

const std::map<std::string, at::Tensor>& HookSet::cached() const { return impl_->cache; }
void HookSet::clear_cache() { impl_->cache.clear(); }

}  // namespace mechlens
