// Reading and validating a safetensors file. The format (huggingface/safetensors,
// README "Format"): u64 little-endian N, N bytes of UTF-8 JSON, then the data
// section; each tensor's data_offsets are [begin, end) relative to the data
// section. We check every claim of the header against the file so that a
// truncated or corrupt download fails here, naming the file and the tensor,
// rather than as a crash inside a matmul.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>

#include "checkpoint/load_warnings.hpp"
#include "checkpoint/mapped_file.hpp"
#include "checkpoint/safetensors.hpp"
#include "mechlens/error.hpp"

namespace mechlens::checkpoint {
namespace {

std::string tensor_where(const std::string& path, const std::string& name) {
  return path + ": tensor '" + name + "'";
}

std::uint64_t read_u64_le(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint64_t>(p[i]);
  return v;
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// One header entry → view (data pointer filled in by the caller).
TensorView parse_entry(const std::string& path, const std::string& name,
                       const nlohmann::json& entry, std::size_t data_size,
                       std::uint64_t* begin_out) {
  const std::string where = tensor_where(path, name);
  if (!entry.is_object()) fail(where, "header entry is not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(key)) fail(where, std::string("header entry has no '") + key + "'");

  const auto& dtype = entry.at("dtype");
  if (!dtype.is_string()) fail(where, "'dtype' is not a string");
  TensorView view;
  view.name = name;
  view.file = path;
  view.dtype = parse_dtype(dtype.get<std::string>(), where);

  const auto& shape = entry.at("shape");
  if (!shape.is_array()) fail(where, "'shape' is not an array");
  std::uint64_t elements = 1;
  bool overflow = false;
  for (const auto& d : shape) {
    if (!d.is_number_unsigned()) fail(where, "'shape' holds " + d.dump() + ", not a size");
    auto n = d.get<std::uint64_t>();
    if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      fail(where, "'shape' dimension " + d.dump() + " is too large");
    view.shape.push_back(static_cast<std::int64_t>(n));
    overflow = overflow || __builtin_mul_overflow(elements, n, &elements);
  }

  const auto& offsets = entry.at("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    fail(where, "'data_offsets' is not a pair of byte offsets: " + offsets.dump());
  auto begin = offsets[0].get<std::uint64_t>();
  auto end = offsets[1].get<std::uint64_t>();
  if (end < begin)
    fail(where, "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                    "] are reversed");
  if (end > data_size)
    fail(where, "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                    "] run past the end of the data section (" + std::to_string(data_size) +
                    " bytes): the file is truncated or the header is corrupt");

  std::uint64_t expected = 0;
  overflow = overflow || __builtin_mul_overflow(elements, element_size(view.dtype), &expected);
  if (overflow || expected != end - begin)
    fail(where, std::to_string(end - begin) + " bytes in the file, but " + to_string(view.dtype) +
                    " x " + shape_string(view.shape) + " needs " +
                    (overflow ? std::string("more than 2^64") : std::to_string(expected)));
  view.nbytes = static_cast<std::size_t>(end - begin);
  *begin_out = begin;
  return view;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile file;
  file.path_ = path;
  auto mapping = std::make_shared<const MappedFile>(path);
  const std::size_t size = mapping->size();
  if (size < 8)
    fail(path, "file is " + std::to_string(size) +
                   " bytes, shorter than the 8-byte header length: not a safetensors file");
  const std::uint64_t header_size = read_u64_le(mapping->data());
  if (header_size > size - 8)
    fail(path, "header length " + std::to_string(header_size) + " exceeds the file (" +
                   std::to_string(size) + " bytes): truncated or not a safetensors file");
  const auto* header_begin = reinterpret_cast<const char*>(mapping->data() + 8);
  file.header_.assign(header_begin, static_cast<std::size_t>(header_size));

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(file.header_);
  } catch (const nlohmann::json::parse_error& e) {
    fail(path, "header is not valid JSON (at byte " + std::to_string(8 + e.byte) + ")");
  }
  if (!header.is_object()) fail(path, "header is not a JSON object");

  const std::byte* data = mapping->data() + 8 + header_size;
  const std::size_t data_size = size - 8 - static_cast<std::size_t>(header_size);
  std::vector<std::pair<std::uint64_t, std::string>> ranges;  // begin, name
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(path, "'__metadata__' is not an object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string())
          fail(path, "'__metadata__' key '" + key + "' is not a string");
        file.metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    std::uint64_t begin = 0;
    TensorView view = parse_entry(path, name, entry, data_size, &begin);
    view.data = data + begin;
    ranges.emplace_back(begin, name);
    file.tensors_.emplace(name, std::move(view));
  }

  // Overlap: sort by start; each range must begin at or after the previous end.
  // (Empty tensors occupy no bytes and overlap nothing.)
  std::sort(ranges.begin(), ranges.end());
  const TensorView* previous = nullptr;
  for (const auto& [begin, name] : ranges) {
    const TensorView& view = file.tensors_.at(name);
    if (view.nbytes == 0) continue;
    if (previous && view.data < previous->data + previous->nbytes)
      fail(tensor_where(path, name), "data overlaps tensor '" + previous->name + "'");
    previous = &view;
  }
  // Bytes no tensor claims: harmless to read, but a sign of a rewrite that
  // stopped halfway or a header that lost entries.
  const std::size_t claimed = previous ? static_cast<std::size_t>(previous->data + previous->nbytes - data) : 0;
  if (claimed < data_size)
    add_load_warning(path + ": " + std::to_string(data_size - claimed) +
                     " bytes after the last tensor's data that no header entry describes (a header that lost "
                     "entries, or an interrupted rewrite?); the tensors themselves were checked");
  file.mapping_ = std::move(mapping);
  return file;
}

}  // namespace mechlens::checkpoint
