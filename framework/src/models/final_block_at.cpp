#include "models/final_block_at.hpp"

#include <ATen/ATen.h>

#include <string>

namespace mechlens::models {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Whether `hooks` want a point of block `layer` past hook_resid_pre, beyond
// the attention too when `past_attention`.
bool hooks_in_block(const std::vector<HookPoint>& points, int layer, const HookSet* hooks, bool past_attention) {
  if (!hooks || hooks->empty()) return false;
  const std::string prefix = "blocks." + std::to_string(layer) + ".";
  for (const HookPoint& p : points) {
    if (!starts_with(p.name, prefix) || p.name == prefix + "hook_resid_pre") continue;
    if (past_attention && starts_with(p.name, prefix + "attn.")) continue;
    if (hooks->wants(p.name)) return true;
  }
  return false;
}

}  // namespace

bool hooks_inside_block(const std::vector<HookPoint>& points, int layer, const HookSet* hooks) {
  return hooks_in_block(points, layer, hooks, false);
}

bool hooks_past_attention(const std::vector<HookPoint>& points, int layer, const HookSet* hooks) {
  return hooks_in_block(points, layer, hooks, true);
}

at::Tensor forward_from_at(const Model& model, int layer, at::Tensor residual, const Batch& batch,
                           const HookSet* hooks, const at::Tensor& positions) {
  const auto* narrow = dynamic_cast<const FinalBlockAtPositions*>(&model);
  if (!narrow || !positions.defined() || positions.dim() != 1 || layer >= model.geometry().n_layers)
    return model.forward_from(layer, std::move(residual), batch, hooks, positions);
  return model.unembed(narrow->run_blocks_at(std::move(residual), batch, layer, positions, hooks), hooks);
}

}  // namespace mechlens::models
