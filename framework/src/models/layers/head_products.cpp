#include "models/layers/batched_matmul.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <vector>

namespace mechlens::layers {

at::Tensor batched_matmul(const at::Tensor& a, const at::Tensor& b) {
  const bool needs_autograd = at::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad());
  if (needs_autograd || !a.device().is_cpu() || a.dim() < 3 || a.dim() != b.dim() ||
      a.sizes().slice(0, a.dim() - 2) != b.sizes().slice(0, b.dim() - 2) || a.size(-1) != b.size(-2) ||
      at::get_num_threads() == 1)
    return at::matmul(a, b);
  const auto n = a.size(-2), k = a.size(-1), m = b.size(-1);
  const at::Tensor a3 = a.reshape({-1, n, k}).contiguous();
  const at::Tensor b3 = b.reshape({-1, k, m}).contiguous();
  const auto count = a3.size(0);
  at::Tensor out = at::empty({count, n, m}, a.options());
  at::parallel_for(0, count, 1, [&](std::int64_t begin, std::int64_t end) {
    at::Tensor part = out.narrow(0, begin, end - begin);
    at::bmm_out(part, a3.narrow(0, begin, end - begin), b3.narrow(0, begin, end - begin));
  });
  std::vector<std::int64_t> shape(a.sizes().begin(), a.sizes().end() - 2);
  shape.push_back(n);
  shape.push_back(m);
  return out.view(shape);
}

}  // namespace mechlens::layers
