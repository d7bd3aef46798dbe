#pragma once
// What an adapter may offer so that logits at a few positions cost only what
// they need (issue 14): its final block computed at those positions alone.
// Keys and values of the final block still come from every position; queries
// (unless a hook wants the block's attention), the attention output, the FFN
// and every norm run at the positions only.
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
  // every row) → [B, P, D]. Hooks keep their contract: when a hook wants a
  // point of the final block's attention, the attention runs at every
  // position and z is narrowed to the positions after hook_z; when one wants
  // a point past the attention, the whole block runs at every position and
  // the rows are gathered afterwards.
  virtual at::Tensor run_blocks_at(at::Tensor residual, const Batch& batch, int first, const at::Tensor& positions,
                                   const HookSet* hooks) const = 0;
};

// Where `hooks` want points of block `layer` (among the model's `points`),
// hook_resid_pre aside: nowhere; only in its attention (attn.*, as a head
// sweep's hook_z), where run_blocks_at runs the attention at every position
// so that they see what they see in the full forward, and narrows after
// hook_z; or past it (hook_attn_out, hook_mlp_out, hook_resid_post), where
// the whole block runs at every position.
enum class FinalBlockHooks { none, in_attention, past_attention };
FinalBlockHooks final_block_hooks(const std::vector<HookPoint>& points, int layer, const HookSet* hooks);

// Logits at `positions` from the residual entering `layer`: the adapter's
// final-block-at-positions path when it has one and `positions` is [P],
// else Model::forward_from.
at::Tensor forward_from_at(const Model& model, int layer, at::Tensor residual, const Batch& batch,
                           const HookSet* hooks, const at::Tensor& positions);

}  // namespace mechlens::models
