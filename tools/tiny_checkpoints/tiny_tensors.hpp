#pragma once
// Random tensors for tiny checkpoints (the Qwen2 and LLaVA-OneVision
// writers): a seeded generator, matrices N(0, 1/fan_in), biases and norm
// weights near 0 and 1 (not exactly, so a mis-mapped tensor shows).
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mechlens::tiny {

class TensorWriter {
 public:
  TensorWriter(std::uint64_t seed, const std::string& dtype);  // "float32" | "bfloat16"
  void add(const std::string& name, const std::vector<std::int64_t>& shape, double std, double mean = 0.0);
  void put(const std::string& name, const at::Tensor& value);
  void linear(const std::string& name, std::int64_t out, std::int64_t in, bool bias = true);
  void norm(const std::string& name, std::int64_t d, bool bias);  // weight ~ 1, bias ~ 0
  // model.safetensors in `directory`; tensors in name order as the reference writer does.
  void write(const std::string& directory) const;
  const std::map<std::string, at::Tensor>& tensors() const { return tensors_; }

 private:
  at::Generator gen_;
  at::ScalarType dtype_;
  std::map<std::string, at::Tensor> tensors_;
};

void write_text_file(const std::string& path, const std::string& text);

}  // namespace mechlens::tiny
