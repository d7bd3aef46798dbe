#pragma once
// What an adapter may offer so that logits at a few positions cost only what
// they need (issue 14): its final block computed at those positions alone.
// Keys and values of the final block still come from every position; queries,
// the attention output, the FFN and every norm run at the positions only.
// The head-ablation sweep reaches the floor with it (ablate_each_head); the
// results are the full forward's at those positions, up to GEMM rounding.
#include <ATen/core/Tensor.h>

#include <vector>

#include "mechlens/hooks.hpp"
#include "mechlens/model.hpp"

namespace mechlens::models {

class FinalBlockAtPositions {
 public:
  virtual ~FinalBlockAtPositions() = default;
  // Blocks [first, n_layers) from `residual` (the resid_pre of `first`),
  // returning the final residual at `positions` ([P] int64, the same for
  // every row) → [B, P, D]. Hooks keep their contract: when a hook wants any
  // point of the final block past its hook_resid_pre, every position runs and
  // the rows are gathered afterwards.
  virtual at::Tensor run_blocks_at(at::Tensor residual, const Batch& batch, int first, const at::Tensor& positions,
                                   const HookSet* hooks) const = 0;
};

// Whether `hooks` want a point of block `layer` past its hook_resid_pre
// (among the model's `points`): then run_blocks_at must run that block at
// every position, so that the hook sees what it sees in the full forward.
bool hooks_inside_block(const std::vector<HookPoint>& points, int layer, const HookSet* hooks);

// Logits at `positions` from the residual entering `layer`: the adapter's
// final-block-at-positions path when it has one and `positions` is [P],
// else Model::forward_from.
at::Tensor forward_from_at(const Model& model, int layer, at::Tensor residual, const Batch& batch,
                           const HookSet* hooks, const at::Tensor& positions);

}  // namespace mechlens::models
