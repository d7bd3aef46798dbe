#pragma once
// One NaN or Inf weight makes every result NaN, and an analysis would still
// finish "complete" with a meaningless baseline. The host runs the clean
// forward of each input once before any analysis and refuses non-finite
// logits, naming the first hook point where non-finite values appear.
#include <string>
#include <vector>

#include "mechlens/model.hpp"

namespace mechlens::host {

// Throws "input '<id>': ..." naming the first hook point (in forward order)
// whose tensor holds NaN or Inf, and its layer.
void check_clean_forward(const Model& model, const std::vector<EncodedInput>& inputs);

// The first hook point of a forward pass of `batch` whose tensor is not
// finite; empty when none is.
std::string first_non_finite_hook(const Model& model, const Batch& batch, const at::Tensor& positions);

}  // namespace mechlens::host
