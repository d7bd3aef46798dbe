#pragma once
// Interventions are framework primitives, written once and used by every
// plugin. Each is batched: row b of the forward carries its own intervention.
#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <vector>

#include "mechlens/hooks.hpp"
#include "mechlens/model.hpp"

namespace mechlens {

enum class HeadAblation {
  zero,      // head output (hook_z) set to 0 (seed 000)
  identity,  // head attends only to its own position: z_t = v_t
  mean,      // z replaced by its mean over the (unpadded) positions
};
HeadAblation parse_head_ablation(const std::string& name);  // "zero" | "identity" | "mean"
const char* to_string(HeadAblation kind);

struct LayerHead {
  int layer = 0;
  int head = 0;
};

// Row b of the batch ablates rows[b] (nullopt = clean row). Registers the
// hooks on `hooks`. If the forward reaching a hook has batch 1 while
// rows.size() > 1, the hook expands the batch to rows.size() (prefix reuse).
void add_head_ablations(HookSet& hooks, const Geometry& geometry,
                        const std::vector<std::optional<LayerHead>>& rows, HeadAblation kind);

// As above, with the batch's padding mask ([B, T] or [1, T] bool, true = real
// token): the mean ablation then averages over the row's real tokens only.
// (Without a mask it averages over every position.)
void add_head_ablations(HookSet& hooks, const Geometry& geometry,
                        const std::vector<std::optional<LayerHead>>& rows, HeadAblation kind,
                        const at::Tensor& attention_mask);

// Logits at `positions` for every head of `layer` ablated in turn, one row
// per head ([n_heads, P, vocab]), for one input. Reuses everything the
// ablation cannot change: blocks before `layer` (from `resid_pre`, the
// residual entering `layer`, batch 1), and the layer's own q/k/v and pattern.
at::Tensor ablate_each_head(const Model& model, const Batch& single, const at::Tensor& resid_pre,
                            int layer, HeadAblation kind, const at::Tensor& positions,
                            const std::vector<int>& heads = {});

// One clean forward: the residual entering each layer (resid_pre[l] is
// blocks.l.hook_resid_pre, [B, T, d_model], n_layers entries) and the logits
// at `positions` — what a sweep needs to resume with forward_from.
struct CleanRun {
  std::vector<at::Tensor> resid_pre;
  at::Tensor logits;
};
CleanRun capture_resid_pre(const Model& model, const Batch& batch, const at::Tensor& positions = {});

}  // namespace mechlens
