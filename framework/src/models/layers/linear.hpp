#pragma once
// y = x @ W^T + b (torch.nn.Linear), over any leading dimensions.
#include <ATen/core/Tensor.h>

namespace mechlens::layers {

struct Linear {
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out] or undefined (no bias)

  at::Tensor operator()(const at::Tensor& x) const;
  std::int64_t out_features() const { return weight.size(0); }
};

}  // namespace mechlens::layers
