// Writing safetensors the way the reference does (huggingface/safetensors,
// safetensors/src/tensor.rs `prepare`): tensors sorted, data contiguous, the
// JSON header padded with spaces to a multiple of 8 so the data section is
// aligned for any element type.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "checkpoint/safetensors.hpp"
#include "mechlens/error.hpp"

namespace mechlens::checkpoint {

TensorData tensor_data(const std::string& name, const at::Tensor& tensor) {
  TensorData out;
  out.name = name;
  out.dtype = from_scalar_type(tensor.scalar_type());
  out.shape = tensor.sizes().vec();
  at::Tensor c = tensor.to(at::kCPU).contiguous();
  out.bytes.resize(c.nbytes());
  if (c.nbytes() > 0) std::memcpy(out.bytes.data(), c.data_ptr(), c.nbytes());
  return out;
}

void write_safetensors(const std::string& path, const std::vector<TensorData>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::map<std::string, const TensorData*> sorted;
  for (const auto& t : tensors) {
    const std::string where = path + ": tensor '" + t.name + "'";
    if (t.name == "__metadata__") fail(where, "name is reserved");
    if (!sorted.emplace(t.name, &t).second) fail(where, "given twice");
    std::size_t elements = 1;
    for (auto d : t.shape) {
      if (d < 0) fail(where, "negative dimension");
      elements *= static_cast<std::size_t>(d);
    }
    if (elements * element_size(t.dtype) != t.bytes.size())
      fail(where, std::to_string(t.bytes.size()) + " bytes given, " +
                      std::to_string(elements * element_size(t.dtype)) + " needed");
  }

  // ordered_json: "__metadata__" first, then the tensors in name order.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : sorted) {
    header[name] = {{"dtype", to_string(t->dtype)},
                    {"shape", t->shape},
                    {"data_offsets", {offset, offset + t->bytes.size()}}};
    offset += t->bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  const std::string temporary = path + ".partial";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) fail(path, "cannot open for writing");
    unsigned char length[8];
    std::uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(n >> (8 * i));
    out.write(reinterpret_cast<const char*>(length), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& [name, t] : sorted)
      out.write(reinterpret_cast<const char*>(t->bytes.data()),
                static_cast<std::streamsize>(t->bytes.size()));
    out.close();
    if (!out) {
      std::remove(temporary.c_str());
      fail(path, "write failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::remove(temporary.c_str());
    fail(path, "cannot rename into place: " + ec.message());
  }
}

void write_tensors(const std::string& path, const std::map<std::string, at::Tensor>& tensors,
                   const std::map<std::string, std::string>& metadata) {
  std::vector<TensorData> data;
  data.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) data.push_back(tensor_data(name, tensor));
  write_safetensors(path, data, metadata);
}

}  // namespace mechlens::checkpoint
