#include "mechlens/model.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"

namespace mechlens {

std::vector<std::string> Model::hook_names() const {
  std::vector<std::string> names;
  for (const HookPoint& p : hook_points()) names.push_back(p.name);
  return names;
}

Batch Model::make_batch(const std::vector<const EncodedInput*>& inputs) const {
  if (inputs.empty()) fail("batch", "no inputs");
  std::int64_t length = 0;
  for (const auto* in : inputs) length = std::max<std::int64_t>(length, in->ids.size());
  const auto rows = static_cast<std::int64_t>(inputs.size());
  Batch batch;
  // Right padding with id 0; the mask keeps padded keys out of every softmax.
  batch.ids = at::zeros({rows, length}, at::kLong);
  batch.attention_mask = at::zeros({rows, length}, at::kBool);
  for (std::int64_t b = 0; b < rows; ++b) {
    const auto& ids = inputs[b]->ids;
    const auto n = static_cast<std::int64_t>(ids.size());
    batch.ids[b].narrow(0, 0, n).copy_(at::tensor(ids, at::kLong));
    batch.attention_mask[b].narrow(0, 0, n).fill_(true);
  }
  batch.inputs = inputs;
  return batch;
}

at::Tensor gather_positions(const at::Tensor& values, const at::Tensor& positions) {
  if (!positions.defined()) return values;
  const auto batch = values.size(0);
  at::Tensor pos = positions.to(at::kLong).to(values.device());
  if (pos.dim() == 1) pos = pos.unsqueeze(0).expand({batch, pos.size(0)});
  if (pos.size(0) == 1 && batch > 1) pos = pos.expand({batch, pos.size(1)});
  at::Tensor index = pos;
  for (std::int64_t d = 2; d < values.dim(); ++d) index = index.unsqueeze(-1);
  std::vector<std::int64_t> shape = values.sizes().vec();
  shape[1] = pos.size(1);
  return values.gather(1, index.expand(shape));
}

at::Tensor Model::forward_from(int layer, at::Tensor residual, const Batch& batch,
                               const HookSet* hooks, const at::Tensor& positions) const {
  const int n_layers = geometry().n_layers;
  if (layer < 0 || layer > n_layers) fail("forward_from", "layer " + std::to_string(layer) + " out of range");
  at::Tensor out = run_blocks(std::move(residual), batch, layer, n_layers, hooks);
  return unembed(gather_positions(out, positions), hooks);
}

at::Tensor Model::run_blocks_reusing(at::Tensor, const Batch&, int, int, const HookSet*, const PrefixReuse&) const {
  fail(family(), "this model cannot run part of the positions reusing a prefix's keys and values");
}

at::Tensor Model::forward(const Batch& batch, const HookSet* hooks, const at::Tensor& positions) const {
  return forward_from(0, embed(batch, hooks), batch, hooks, positions);
}

}  // namespace mechlens
