#pragma once
// sensitivity_matrix's `method = "attribution"` (issue 14): the matrix
// estimated by attribution patching (mechlens::attribute_head_ablations: one
// clean forward and one backward per metric, gradient at hook_z times the
// ablation's change of z) instead of one ablated forward per head, and the
// `verify_top` heads with the largest estimate re-measured exactly.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "head_metrics.hpp"
#include "mechlens/interventions.hpp"

namespace sensitivity {

struct Attribution {
  std::map<std::string, at::Tensor> estimate;  // metric → [layers, heads] f64; kl: NaN (zero gradient at the clean run)
  std::map<std::string, at::Tensor> exact;     // metric → [layers, heads] f64, NaN except the verified heads
};

// For one input (batch 1). Heads of layers not in `layers` are NaN. The
// verified heads are the `verify_top` largest |estimate| of the first metric
// that has an estimate.
Attribution attribute(const mechlens::Model& model, const mechlens::Batch& single, const at::Tensor& answer,
                      const Baseline& base, mechlens::HeadAblation kind, const std::vector<std::string>& metrics,
                      const std::vector<int>& layers, std::int64_t verify_top);

// Spearman rank correlation of the finite pairs (NaN when fewer than 2).
double spearman_finite(const at::Tensor& a, const at::Tensor& b);

}  // namespace sensitivity
