#pragma once
// safetensors files, memory-mapped: an 8-byte little-endian header length, a
// JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
// then the raw bytes. Nothing is copied until a tensor is asked for.
#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mechlens::checkpoint {

enum class DType { f64, f32, f16, bf16, i64, i32, i16, i8, u8, boolean };
const char* to_string(DType dtype);           // safetensors spelling: "F32", "BF16", ...
DType parse_dtype(const std::string& name, const std::string& where);
std::size_t element_size(DType dtype);
at::ScalarType to_scalar_type(DType dtype);
DType from_scalar_type(at::ScalarType type);  // error for types safetensors lacks

struct TensorView {
  std::string name;
  std::string file;  // the file it lives in
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  const std::byte* data = nullptr;  // inside the mapping
  std::size_t nbytes = 0;
};

class MappedFile;  // read-only mmap, shared by the views of one file

class SafetensorsFile {
 public:
  // Validates the header against the file size: truncated files, offsets
  // outside the data, overlapping or misaligned ranges, sizes that disagree
  // with dtype x shape are errors naming the file and the tensor.
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& header_json() const { return header_; }
  // Keeps the mapping alive (e.g. for at::from_blob deleters).
  std::shared_ptr<const MappedFile> mapping() const { return mapping_; }

 private:
  std::string path_;
  std::string header_;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
  std::shared_ptr<const MappedFile> mapping_;
};

// A tensor to write: raw C-order bytes of `dtype`.
struct TensorData {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> bytes;
};
// A torch tensor's C-order bytes (copied; any device or layout).
TensorData tensor_data(const std::string& name, const at::Tensor& tensor);
// Writes a safetensors file (tools and tests: tiny checkpoints, round trips).
// Layout as the reference writer makes it: header padded with spaces to a
// multiple of 8, tensors in name order, data contiguous. Written to a
// temporary name, then renamed, so a reader never sees half a file.
void write_safetensors(const std::string& path, const std::vector<TensorData>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
// The same from torch tensors (a distinct name: braced lists stay unambiguous).
void write_tensors(const std::string& path, const std::map<std::string, at::Tensor>& tensors,
                   const std::map<std::string, std::string>& metadata = {});

}  // namespace mechlens::checkpoint
