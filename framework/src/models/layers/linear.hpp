#pragma once
// y = x @ W^T + b (torch.nn.Linear), over any leading dimensions.
#include <ATen/core/Tensor.h>

#include <vector>

namespace mechlens::layers {

struct Linear {
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out] or undefined (no bias)

  at::Tensor operator()(const at::Tensor& x) const;
  std::int64_t out_features() const { return weight.size(0); }
  // Output features [start, start + n): a view (the rows of W are contiguous).
  Linear rows(std::int64_t start, std::int64_t n) const;
};

// Linears reading the same input, stacked into one: their outputs side by
// side, computed by one GEMM (BERT's q, k, v: one 768 x 2304 product runs
// about a quarter faster than three 768 x 768 ones). Biases all or none.
Linear stack(const std::vector<const Linear*>& parts);

}  // namespace mechlens::layers
