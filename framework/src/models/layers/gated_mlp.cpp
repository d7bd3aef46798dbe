#include "models/layers/gated_mlp.hpp"

#include <ATen/ATen.h>

namespace mechlens::layers {

at::Tensor GatedMlp::operator()(const at::Tensor& x) const {
  if (fused.weight.defined()) {
    const at::Tensor both = fused(x);
    const auto ff = both.size(-1) / 2;
    return down(activate(act, both.narrow(-1, 0, ff)) * both.narrow(-1, ff, ff));
  }
  return down(activate(act, gate(x)) * up(x));
}

}  // namespace mechlens::layers
