// One forward for all heads of a layer: everything before the ablation point
// runs once at batch 1, the hook_z write hook fans out to one row per head.
#include <ATen/ATen.h>

#include "mechlens/error.hpp"
#include "mechlens/interventions.hpp"
#include "models/final_block_at.hpp"

namespace mechlens {

at::Tensor ablate_each_head(const Model& model, const Batch& single, const at::Tensor& resid_pre, int layer,
                            HeadAblation kind, const at::Tensor& positions, const std::vector<int>& heads) {
  const Geometry geometry = model.geometry();
  if (single.ids.size(0) != 1 || resid_pre.size(0) != 1)
    fail("ablate_each_head", "expects one input (batch 1), got a batch of " + std::to_string(single.ids.size(0)) +
                                 " and a residual of batch " + std::to_string(resid_pre.size(0)));
  if (layer < 0 || layer >= geometry.n_layers)
    fail("ablate_each_head", "layer " + std::to_string(layer) + " outside the model's " +
                                 std::to_string(geometry.n_layers) + " layers");
  std::vector<std::optional<LayerHead>> rows;
  if (heads.empty()) {
    for (int h = 0; h < geometry.n_heads; ++h) rows.push_back(LayerHead{layer, h});
  } else {
    for (int h : heads) rows.push_back(LayerHead{layer, h});
  }
  HookSet hooks;
  add_head_ablations(hooks, geometry, rows, kind, single.attention_mask);
  at::NoGradGuard no_grad;
  // The final block at the answer rows only when the adapter can (the floor, issue 14).
  at::Tensor logits = models::forward_from_at(model, layer, resid_pre, single, &hooks, positions);
  // A single head on a batch-1 forward needs no expansion; keep the shape [n, P, V] anyway.
  if (logits.size(0) != static_cast<std::int64_t>(rows.size()))
    logits = logits.expand({static_cast<std::int64_t>(rows.size()), logits.size(1), logits.size(2)});
  return logits;
}

CleanRun capture_resid_pre(const Model& model, const Batch& batch, const at::Tensor& positions) {
  CleanRun run;
  run.resid_pre.resize(model.geometry().n_layers);
  auto* out = &run.resid_pre;
  HookSet hooks;
  hooks.add_read("blocks.*.hook_resid_pre", [out](const std::string& name, const at::Tensor& value) {
    // "blocks.<L>.hook_resid_pre"
    const auto first = name.find('.') + 1;
    const auto layer = std::stoul(name.substr(first, name.find('.', first) - first));
    if (layer < out->size()) (*out)[layer] = value.detach().clone();
  });
  at::NoGradGuard no_grad;
  run.logits = models::forward_from_at(model, 0, model.embed(batch, &hooks), batch, &hooks, positions);
  return run;
}

}  // namespace mechlens
