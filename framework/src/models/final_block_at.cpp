#include "models/final_block_at.hpp"

#include <ATen/ATen.h>

namespace mechlens::models {

at::Tensor forward_from_at(const Model& model, int layer, at::Tensor residual, const Batch& batch,
                           const HookSet* hooks, const at::Tensor& positions) {
  const auto* narrow = dynamic_cast<const FinalBlockAtPositions*>(&model);
  if (!narrow || !positions.defined() || positions.dim() != 1 || layer >= model.geometry().n_layers)
    return model.forward_from(layer, std::move(residual), batch, hooks, positions);
  return model.unembed(narrow->run_blocks_at(std::move(residual), batch, layer, positions, hooks), hooks);
}

}  // namespace mechlens::models
