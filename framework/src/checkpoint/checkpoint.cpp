// Tensors by name: lookup, shape checks, zero-copy or converted loads, and
// bookkeeping of which tensors an adapter used.
#include "checkpoint/checkpoint.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "checkpoint/mapped_file.hpp"
#include "checkpoint/name_match.hpp"
#include "checkpoint/sha256.hpp"
#include "mechlens/error.hpp"

namespace mechlens::checkpoint {
namespace {

std::string shape_string(c10::IntArrayRef shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Weights swapped in place under identical headers (another fine-tune of the
// same architecture) must not pass for the same checkpoint, but hashing every
// byte of an 11 GB checkpoint on every run costs ~20 s of SHA-256. So each
// tensor contributes its first, middle and last 4 KiB (all of it when
// smaller), in file order: ~12 KiB a tensor, a few MiB for a 7B model, read
// from pages the load has just touched. Any retrained weights differ in
// every block; an edit confined to bytes between the samples is not seen.
void hash_data_sample(Sha256& hash, const SafetensorsFile& file) {
  constexpr std::size_t block = 4096;
  std::vector<const TensorView*> views;
  for (const auto& entry : file.tensors()) views.push_back(&entry.second);
  std::sort(views.begin(), views.end(), [](const TensorView* a, const TensorView* b) { return a->data < b->data; });
  for (const TensorView* v : views) {
    if (v->nbytes <= 3 * block) {
      hash.update(v->data, v->nbytes);
      continue;
    }
    hash.update(v->data, block);
    hash.update(v->data + (v->nbytes - block) / 2, block);
    hash.update(v->data + v->nbytes - block, block);
  }
}

}  // namespace

bool Checkpoint::has(const std::string& name) const { return index_.count(name) > 0; }

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(index_.size());
  for (const auto& entry : index_) out.push_back(entry.first);
  return out;
}

std::vector<std::string> Checkpoint::file_paths() const {
  std::vector<std::string> out;
  for (const auto& file : files_) out.push_back(file.path());
  return out;
}

void Checkpoint::missing(const std::string& name) const {
  std::string what = "missing (checkpoint has " + std::to_string(index_.size()) + " tensors";
  if (auto near = closest_name(name, names())) what += "; did you mean '" + *near + "'?";
  throw Error(directory_ + ": tensor '" + name + "' " + what + ")");
}

const TensorView& Checkpoint::view(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) missing(name);
  return *it->second.second;
}

at::Tensor Checkpoint::load(const std::string& name, const std::vector<std::int64_t>& expected_shape,
                            const at::TensorOptions& options) const {
  auto it = index_.find(name);
  if (it == index_.end()) missing(name);
  const TensorView& v = *it->second.second;
  const std::string where = v.file + ": tensor '" + name + "'";
  if (v.shape != expected_shape)
    throw Error(where + " has shape " + shape_string(v.shape) + ", expected " +
                shape_string(expected_shape));

  const at::ScalarType stored = to_scalar_type(v.dtype);
  const at::ScalarType target =
      options.has_dtype() ? c10::typeMetaToScalarType(options.dtype()) : stored;
  if (at::isFloatingType(stored) && !at::isFloatingType(target))
    fail(where, std::string("is ") + to_string(v.dtype) + "; refusing to convert it to " +
                    c10::toString(target));
  // The reverse: a weight the model computes with in floating point, declared
  // integer in the header (a corrupt header, or a quantized checkpoint):
  // converting the integers would run, on meaningless numbers.
  if (!at::isFloatingType(stored) && at::isFloatingType(target))
    fail(where, std::string("is declared ") + to_string(v.dtype) +
                    " (integer) in the header, but the model expects a floating-point weight (" +
                    c10::toString(target) + "): the header is wrong, or the checkpoint is quantized, which mechlens "
                    "does not read");

  // Alias the mapping when the bytes are aligned for their type (the writer
  // aligns the data section; other writers need not). The deleter holds the
  // mapping alive for as long as the tensor.
  at::Tensor tensor;
  if (reinterpret_cast<std::uintptr_t>(v.data) % element_size(v.dtype) == 0) {
    auto mapping = files_[it->second.first].mapping();
    tensor = at::from_blob(const_cast<std::byte*>(v.data), v.shape,
                           [mapping](void*) mutable { mapping.reset(); },
                           at::TensorOptions().dtype(stored));
  } else {
    tensor = at::empty(v.shape, at::TensorOptions().dtype(stored));
    if (v.nbytes) std::memcpy(tensor.data_ptr(), v.data, v.nbytes);
  }
  if (target != stored || !options.device().is_cpu())
    tensor = tensor.to(options.device(), target, /*non_blocking=*/false, /*copy=*/true);
  used_.insert(name);
  return tensor;
}

void Checkpoint::release_pages(const at::Tensor& alias) const {
  if (!alias.defined() || !alias.device().is_cpu()) return;
  const std::size_t bytes = static_cast<std::size_t>(alias.numel()) * alias.element_size();
  for (const auto& file : files_) file.mapping()->release(alias.data_ptr(), bytes);
}

std::optional<std::string> Checkpoint::first_present(const std::vector<std::string>& names) const {
  for (const auto& name : names)
    if (has(name)) return name;
  return std::nullopt;
}

std::vector<std::string> Checkpoint::unused(const std::vector<std::string>& ignorable) const {
  std::vector<std::string> out;
  for (const auto& entry : index_) {
    const std::string& name = entry.first;
    if (used_.count(name)) continue;
    bool ignored = false;
    for (const auto& pattern : ignorable) ignored = ignored || glob_match(pattern, name);
    if (!ignored) out.push_back(name);
  }
  return out;
}

void Checkpoint::require_all_used(const std::vector<std::string>& ignorable) const {
  const auto names = unused(ignorable);
  if (names.empty()) return;
  constexpr std::size_t shown = 8;
  std::string list;
  for (std::size_t i = 0; i < names.size() && i < shown; ++i)
    list += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > shown) list += " and " + std::to_string(names.size() - shown) + " more";
  fail(directory_, std::to_string(names.size()) + " tensor" + (names.size() == 1 ? "" : "s") +
                       " never used by the model: " + list +
                       " (a different architecture, or a mapping the adapter lacks)");
}

CheckpointIdentity Checkpoint::identity(const std::string& format) const {
  namespace fs = std::filesystem;
  CheckpointIdentity id;
  id.path = directory_;
  id.format = format;
  id.config_sha256 = sha256_file_hex((fs::path(directory_) / "config.json").string());
  Sha256 tensors;
  for (const auto& file : files_) {
    id.files.push_back(fs::path(file.path()).lexically_relative(directory_).generic_string());
    tensors.update(file.header_json());
    hash_data_sample(tensors, file);
  }
  id.tensors_sha256 = tensors.hex();
  return id;
}

}  // namespace mechlens::checkpoint
