// Attribution patching of head ablations: one clean forward with every
// layer's hook_z made a leaf that asks for its gradient, one backward per
// metric, then per head the gradient dotted with the change the ablation
// would make there (zero: -z; mean: mean_t z - z; identity: v_t - z).
#include <ATen/ATen.h>

#include "mechlens/error.hpp"
#include "mechlens/interventions.hpp"

namespace mechlens {

namespace {

int layer_of(const std::string& name) {  // "blocks.<L>.attn.hook_z"
  const auto first = name.find('.') + 1;
  return std::stoi(name.substr(first, name.find('.', first) - first));
}

// What the ablation would write minus what is there: [1, T, H, dh].
at::Tensor ablation_delta(HeadAblation kind, const at::Tensor& z, const at::Tensor& v, const at::Tensor& keep,
                          int group) {
  switch (kind) {
    case HeadAblation::zero:
      return -z;
    case HeadAblation::identity:
      return v.repeat_interleave(group, 2) - z;
    case HeadAblation::mean: {
      // The mean over the input's real tokens, as add_head_ablations takes it.
      const at::Tensor w = keep.to(z.scalar_type()).view({1, -1, 1, 1});
      return (z * w).sum(1, true) / w.sum().clamp_min(1) - z;
    }
  }
  fail("attribution", "unknown ablation");
}

}  // namespace

at::Tensor attribute_head_ablations(const Model& model, const Batch& single, HeadAblation kind,
                                    const at::Tensor& positions, const std::vector<LogitMetric>& metrics,
                                    at::Tensor* clean_logits) {
  const Geometry g = model.geometry();
  if (single.ids.size(0) != 1) fail("attribution", "expects one input (batch 1)");
  if (metrics.empty()) fail("attribution", "no metric");
  // hook_z + a zero leaf per layer: the leaf's gradient is the total
  // derivative at z, through every later layer too (detaching z itself would
  // cut the paths through later heads).
  std::vector<at::Tensor> z(g.n_layers), probe(g.n_layers), v(g.n_layers);
  HookSet hooks;
  hooks.add_write("blocks.*.attn.hook_z", [&](const std::string& name, const at::Tensor& value) {
    const auto l = static_cast<std::size_t>(layer_of(name));
    z.at(l) = value.detach();
    probe.at(l) = at::zeros_like(value).requires_grad_(true);
    return value + probe[l];
  });
  if (kind == HeadAblation::identity)
    hooks.add_read("blocks.*.attn.hook_v", [&v](const std::string& name, const at::Tensor& value) {
      v.at(static_cast<std::size_t>(layer_of(name))) = value.detach();
    });
  at::AutoGradMode grad(true);
  const at::Tensor logits = model.forward(single, &hooks, positions)[0].to(at::kDouble);  // [P, vocab]
  if (clean_logits) *clean_logits = logits.detach();

  const int group = g.n_heads / (g.n_kv_heads > 0 ? g.n_kv_heads : g.n_heads);
  const at::Tensor keep = single.attention_mask[0];
  std::vector<at::Tensor> delta(g.n_layers);
  for (int l = 0; l < g.n_layers; ++l) {
    if (!z[l].defined()) fail("attribution", "hook_z of layer " + std::to_string(l) + " never fired");
    delta[l] = ablation_delta(kind, z[l], v[l], keep.to(z[l].device()), group);
  }
  at::Tensor out = at::zeros({static_cast<std::int64_t>(metrics.size()), g.n_layers, g.n_heads}, at::kDouble);
  for (std::size_t m = 0; m < metrics.size(); ++m) {
    const at::Tensor value = metrics[m](logits);
    if (value.numel() != 1) fail("attribution", "a metric must be a scalar");
    for (const at::Tensor& leaf : probe)
      if (leaf.grad().defined()) leaf.mutable_grad().zero_();
    value.backward({}, /*retain_graph=*/m + 1 < metrics.size());
    for (int l = 0; l < g.n_layers; ++l) {
      const at::Tensor grad = probe[l].grad();
      if (!grad.defined()) continue;  // the metric does not depend on this layer
      out[static_cast<std::int64_t>(m)][l].copy_((grad.to(at::kDouble) * delta[l].to(at::kDouble)).sum({0, 1, 3}));
    }
  }
  return out;
}

}  // namespace mechlens
