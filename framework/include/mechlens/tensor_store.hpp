#pragma once
// at::Tensor → store. Tensors are moved to CPU and made contiguous; bf16/f16
// are widened to f32 (HDF5 readers everywhere understand f32).
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "mechlens/store.hpp"

namespace mechlens {
void write_tensor(ResultGroup& group, const std::string& name, const at::Tensor& tensor,
                  const std::vector<std::string>& dims);
}  // namespace mechlens
