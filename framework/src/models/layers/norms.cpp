#include "models/layers/norms.hpp"

#include <ATen/ATen.h>

namespace mechlens::layers {

at::Tensor LayerNorm::operator()(const at::Tensor& x) const {
  return at::layer_norm(x, {x.size(-1)}, weight, bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt, eps);
}

at::Tensor RmsNorm::operator()(const at::Tensor& x) const {
  const auto input_dtype = x.scalar_type();
  at::Tensor h = x.to(at::kFloat);
  // float64 inputs stay float64 (reference runs); everything else goes through float32.
  if (input_dtype == at::kDouble) h = x;
  const at::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * at::rsqrt(variance + eps);
  return weight * h.to(input_dtype);
}

}  // namespace mechlens::layers
