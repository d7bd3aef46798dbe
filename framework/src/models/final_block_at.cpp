#include "models/final_block_at.hpp"

#include <ATen/ATen.h>

#include <string>

namespace mechlens::models {

FinalBlockHooks final_block_hooks(const std::vector<HookPoint>& points, int layer, const HookSet* hooks) {
  if (!hooks || hooks->empty()) return FinalBlockHooks::none;
  const std::string prefix = "blocks." + std::to_string(layer) + ".";
  const std::string resid_pre = prefix + "hook_resid_pre", attention = prefix + "attn.";
  FinalBlockHooks where = FinalBlockHooks::none;
  for (const HookPoint& p : points) {
    if (p.name.rfind(prefix, 0) != 0 || p.name == resid_pre || !hooks->wants(p.name)) continue;
    if (p.name.rfind(attention, 0) != 0) return FinalBlockHooks::past_attention;
    where = FinalBlockHooks::in_attention;
  }
  return where;
}

at::Tensor forward_from_at(const Model& model, int layer, at::Tensor residual, const Batch& batch,
                           const HookSet* hooks, const at::Tensor& positions) {
  const auto* narrow = dynamic_cast<const FinalBlockAtPositions*>(&model);
  if (!narrow || !positions.defined() || positions.dim() != 1 || layer >= model.geometry().n_layers)
    return model.forward_from(layer, std::move(residual), batch, hooks, positions);
  return model.unembed(narrow->run_blocks_at(std::move(residual), batch, layer, positions, hooks), hooks);
}

}  // namespace mechlens::models
