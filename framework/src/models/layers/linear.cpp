#include "models/layers/linear.hpp"

#include <ATen/ATen.h>

namespace mechlens::layers {

at::Tensor Linear::operator()(const at::Tensor& x) const {
  // at::linear fuses the bias add (addmm) for 2-D inputs and broadcasts the
  // leading dimensions otherwise.
  return at::linear(x, weight, bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt);
}

}  // namespace mechlens::layers
