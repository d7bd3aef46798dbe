// The declarative tensor table: resolve every entry against a checkpoint,
// collect every problem, raise once.
#include "checkpoint/tensor_table.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "checkpoint/name_match.hpp"
#include "mechlens/error.hpp"

namespace mechlens::checkpoint {
namespace {

constexpr const char* kLayer = "{i}";

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Sorted indices as "0-3, 7, 9-10".
std::string ranges(std::vector<int> indices) {
  std::sort(indices.begin(), indices.end());
  std::string out;
  for (std::size_t i = 0; i < indices.size();) {
    std::size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
    out += (out.empty() ? "" : ", ") + std::to_string(indices[i]);
    if (j > i) out += "-" + std::to_string(indices[j]);
    i = j + 1;
  }
  return out;
}

// "model.layers.12.mlp.weight" -> {"model.layers.{i}.mlp.weight", 12}: the first
// all-digit dot component becomes {i}, so extras group by pattern.
std::pair<std::string, int> layer_pattern(const std::string& name) {
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    const std::string part = name.substr(start, end - start);
    if (!part.empty() && part.size() < 9 &&
        std::all_of(part.begin(), part.end(), [](unsigned char c) { return std::isdigit(c); }))
      return {name.substr(0, start) + kLayer + name.substr(end), std::stoi(part)};
    start = end + 1;
  }
  return {name, -1};
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "'" : "', '") + n;
  return out + "'";
}

}  // namespace

std::string expand_layer(const std::string& pattern, int layer) {
  std::string out = pattern;
  for (auto at = out.find(kLayer); at != std::string::npos; at = out.find(kLayer, at))
    out.replace(at, 3, std::to_string(layer));
  return out;
}

TensorEntry& TensorTable::add(std::string name, Shape shape) {
  TensorEntry entry;
  entry.spellings.push_back(std::move(name));
  entry.shape = std::move(shape);
  entries_.push_back(std::move(entry));
  return entries_.back();
}

TensorTable& TensorTable::ignore(std::string glob) {
  ignored_.push_back(std::move(glob));
  return *this;
}

TensorTable& TensorTable::include(const TensorTable& other) {
  entries_.insert(entries_.end(), other.entries_.begin(), other.entries_.end());
  ignored_.insert(ignored_.end(), other.ignored_.begin(), other.ignored_.end());
  return *this;
}

TensorSet TensorTable::resolve(const Checkpoint& ckpt, Extras extras) const {
  TensorSet set;
  set.ckpt_ = &ckpt;
  std::set<std::string> claimed;
  std::map<std::string, std::string> lost;  // present spelling -> the spelling that won
  std::vector<std::string> missing, misshaped;
  std::size_t missing_count = 0, suggestions_left = 5;
  const std::vector<std::string> all_names = ckpt.names();

  for (const TensorEntry& entry : entries_) {
    // Mistakes in the table itself are the adapter's bugs: say so plainly.
    if (entry.spellings.empty() || entry.key().empty()) fail(what_, "tensor table entry without a name");
    for (const auto& s : entry.spellings) {
      const bool layered = s.find(kLayer) != std::string::npos;
      if (layered != (entry.n_layers > 0))
        fail(what_, "tensor table entry '" + s + "': " +
                        (layered ? "has {i} but no .layers(n)" : "has .layers(n) but no {i} in its name"));
    }
    if (!set.entries_.emplace(entry.key(), entry).second)
      fail(what_, "tensor table lists '" + entry.key() + "' twice");

    std::vector<int> absent;
    const int first = entry.n_layers > 0 ? 0 : -1, last = entry.n_layers > 0 ? entry.n_layers : 0;
    for (int layer = first; layer < last; ++layer) {
      TensorSet::Found found;
      for (std::size_t s = 0; s < entry.spellings.size(); ++s) {
        const std::string name = layer >= 0 ? expand_layer(entry.spellings[s], layer) : entry.spellings[s];
        if (!ckpt.has(name)) continue;
        if (found.spelling < 0) {
          found = {name, int(s)};
          claimed.insert(name);
        } else {
          lost.emplace(name, found.name);
        }
      }
      if (found.spelling < 0 && !entry.is_optional) absent.push_back(layer);
      if (found.spelling >= 0 && entry.check_shape) {
        const TensorView& v = ckpt.view(found.name);
        if (v.shape != entry.shape)
          misshaped.push_back("'" + found.name + "' in " +
                              std::filesystem::path(v.file).filename().string() + " has " + shape_string(v.shape) +
                              ", expected " + shape_string(entry.shape));
      }
      set.found_[{entry.key(), layer}] = found;
    }
    if (absent.empty()) continue;
    missing_count += absent.size();
    // One absent layer is named as in the file; more as the pattern and the indices.
    const bool one = absent.size() == 1;
    std::vector<std::string> spellings;
    for (const auto& s : entry.spellings) spellings.push_back(one ? expand_layer(s, absent.front()) : s);
    std::string line = "'" + spellings.front() + "'";
    if (entry.n_layers > 0 && !one)
      line += absent.size() == std::size_t(entry.n_layers) ? " for every i in 0-" + std::to_string(entry.n_layers - 1)
                                                           : " for i = " + ranges(absent);
    if (spellings.size() > 1) line += " (nor " + quoted_list({spellings.begin() + 1, spellings.end()}) + ")";
    if (suggestions_left > 0) {
      --suggestions_left;
      const std::string probe = expand_layer(entry.key(), absent.front());
      if (auto near = closest_name(probe, all_names)) line += "; did you mean '" + *near + "'?";
    }
    missing.push_back(line);
  }

  // Unclaimed tensors, grouped by layer pattern.
  std::map<std::string, std::vector<int>> extra_groups;
  std::vector<std::string> extra_order;
  std::size_t extra_count = 0;
  if (extras == Extras::refuse) {
    for (const auto& name : all_names) {
      if (claimed.count(name)) continue;
      if (std::any_of(ignored_.begin(), ignored_.end(), [&](const std::string& g) { return glob_match(g, name); }))
        continue;
      ++extra_count;
      auto [pattern, layer] = lost.count(name) ? std::pair<std::string, int>{name, -1} : layer_pattern(name);
      if (!extra_groups.count(pattern)) extra_order.push_back(pattern);
      extra_groups[pattern].push_back(layer);
    }
  }
  if (missing.empty() && misshaped.empty() && extra_count == 0) return set;

  std::string files;
  for (const auto& f : ckpt.file_paths())
    files += (files.empty() ? "" : ", ") + std::filesystem::path(f).lexically_relative(ckpt.directory()).string();
  std::string what = "the checkpoint does not match the " + what_ + " tensor table (files: " + files + "): ";
  std::vector<std::string> counts;
  if (missing_count) counts.push_back(std::to_string(missing_count) + " missing");
  if (!misshaped.empty()) counts.push_back(std::to_string(misshaped.size()) + " mis-shaped");
  if (extra_count) counts.push_back(std::to_string(extra_count) + " extra");
  for (std::size_t i = 0; i < counts.size(); ++i) what += (i ? ", " : "") + counts[i];
  for (const auto& m : missing) what += "\n  missing: " + m;
  for (const auto& m : misshaped) what += "\n  mis-shaped: " + m;
  for (const auto& pattern : extra_order) {
    const auto& layers = extra_groups[pattern];
    what += "\n  extra: '" + (layers.size() == 1 ? (layers[0] < 0 ? pattern : expand_layer(pattern, layers[0])) : pattern) + "'";
    if (layers.size() > 1) what += " for i = " + ranges(layers);
    if (lost.count(pattern)) what += " (an alternative spelling of '" + lost.at(pattern) + "', which was used)";
  }
  if (extra_count) what += "\n  (extra = no entry reads it: a different architecture, or a mapping the adapter lacks)";
  fail(ckpt.directory(), what);
}

const TensorSet::Found& TensorSet::find(const std::string& key, int layer) const {
  const auto entry = entries_.find(key);
  if (entry == entries_.end()) fail(key, "not in the tensor table (keys are an entry's first spelling)");
  if ((entry->second.n_layers > 0) != (layer >= 0) || layer >= entry->second.n_layers)
    fail(key, "layer " + std::to_string(layer) + " asked of an entry with " + std::to_string(entry->second.n_layers) +
                  " layers");
  return found_.at({key, layer});
}

bool TensorSet::has(const std::string& key, int layer) const { return find(key, layer).spelling >= 0; }

int TensorSet::spelling(const std::string& key, int layer) const { return find(key, layer).spelling; }

const std::string& TensorSet::name(const std::string& key, int layer) const {
  const Found& f = find(key, layer);
  if (f.spelling < 0)
    fail(ckpt_->directory(), "tensor '" + (layer >= 0 ? expand_layer(key, layer) : key) + "' missing (optional)");
  return f.name;
}

at::Tensor TensorSet::load(const std::string& key, const at::TensorOptions& options, int layer) const {
  const std::string& n = name(key, layer);
  const TensorEntry& entry = entries_.at(key);
  return ckpt_->load(n, entry.check_shape ? entry.shape : ckpt_->view(n).shape, options);
}

at::Tensor TensorSet::load_if_present(const std::string& key, const at::TensorOptions& options, int layer) const {
  return has(key, layer) ? load(key, options, layer) : at::Tensor();
}

}  // namespace mechlens::checkpoint
