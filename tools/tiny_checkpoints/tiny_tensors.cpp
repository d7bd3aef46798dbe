#include "tiny_tensors.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "checkpoint/safetensors.hpp"
#include "mechlens/error.hpp"

namespace mechlens::tiny {

TensorWriter::TensorWriter(std::uint64_t seed, const std::string& dtype)
    : gen_(at::make_generator<at::CPUGeneratorImpl>(seed)) {
  if (dtype == "float32") dtype_ = at::kFloat;
  else if (dtype == "bfloat16") dtype_ = at::kBFloat16;
  else fail("tiny checkpoint", "dtype '" + dtype + "' (float32, bfloat16)");
}

void TensorWriter::add(const std::string& name, const std::vector<std::int64_t>& shape, double std, double mean) {
  put(name, at::randn(shape, gen_, at::kFloat) * std + mean);
}

void TensorWriter::put(const std::string& name, const at::Tensor& value) {
  if (tensors_.count(name)) fail("tiny checkpoint", "tensor '" + name + "' written twice");
  tensors_[name] = value.to(dtype_).contiguous();
}

void TensorWriter::linear(const std::string& name, std::int64_t out, std::int64_t in, bool bias) {
  add(name + ".weight", {out, in}, 1.0 / std::sqrt(static_cast<double>(in)));
  if (bias) add(name + ".bias", {out}, 0.1);
}

void TensorWriter::norm(const std::string& name, std::int64_t d, bool bias) {
  add(name + ".weight", {d}, 0.1, 1.0);
  if (bias) add(name + ".bias", {d}, 0.1);
}

void TensorWriter::write(const std::string& directory) const {
  std::filesystem::create_directories(directory);
  checkpoint::write_tensors((std::filesystem::path(directory) / "model.safetensors").string(), tensors_,
                            {{"format", "pt"}});
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) fail(path, "cannot write");
  out << text;
  if (!out) fail(path, "write failed");
}

}  // namespace mechlens::tiny
