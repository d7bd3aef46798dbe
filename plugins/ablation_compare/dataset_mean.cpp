#include "dataset_mean.hpp"

#include <ATen/ATen.h>

#include <string>

#include "mechlens/error.hpp"
#include "mechlens/hooks.hpp"

namespace ablation_compare {

using namespace mechlens;

at::Tensor dataset_mean_z(const Model& model, const std::vector<const EncodedInput*>& inputs) {
  const Geometry g = model.geometry();
  at::Tensor sum = at::zeros({g.n_layers, g.n_heads, g.d_head}, at::kDouble);
  double tokens = 0.0;
  at::NoGradGuard no_grad;
  for (const EncodedInput* input : inputs) {
    const Batch batch = model.make_batch({input});
    const at::Tensor real = batch.attention_mask.defined() ? batch.attention_mask[0].to(at::kCPU)
                                                           : at::ones({batch.ids.size(1)}, at::kBool);
    HookSet hooks;
    for (int l = 0; l < g.n_layers; ++l)
      hooks.add_read("blocks." + std::to_string(l) + ".attn.hook_z",
                     [&sum, &real, l](const std::string&, const at::Tensor& z) {  // [1, T, H, d_head]
                       const at::Tensor rows = z[0].to(at::kCPU, at::kDouble).index({real});
                       sum[l] += rows.sum(0);
                     });
    // Only the last position's logits: the hooks are what this forward is for.
    model.forward(batch, &hooks, at::tensor({batch.ids.size(1) - 1}, at::kLong));
    tokens += static_cast<double>(real.sum().item<std::int64_t>());
  }
  if (tokens == 0.0) fail("ablation_compare", "no tokens to average for the dataset mean");
  return sum / tokens;
}

at::Tensor ablate_each_head_to_mean(const Model& model, const Batch& single, const at::Tensor& resid_pre, int layer,
                                    const at::Tensor& means, const at::Tensor& positions) {
  const Geometry g = model.geometry();
  const std::int64_t H = g.n_heads;
  // eye[b, 1, h, 1]: row b replaces head b.
  const at::Tensor eye = at::eye(H, at::kBool).view({H, 1, H, 1});
  const at::Tensor mean = means[layer];  // [H, d_head] float64
  HookSet hooks;
  hooks.add_write("blocks." + std::to_string(layer) + ".attn.hook_z",
                  [&](const std::string& name, const at::Tensor& z) {  // [1, T, H, d_head]
                    if (z.size(0) != 1) fail(name, "expected a batch of 1 to fan out over the heads");
                    const at::Tensor m = mean.to(z.device(), z.scalar_type()).view({1, 1, H, g.d_head});
                    return at::where(eye.to(z.device()), m, z).contiguous();  // [H, T, H, d_head]
                  });
  at::NoGradGuard no_grad;
  return model.forward_from(layer, resid_pre, single, &hooks, positions);
}

}  // namespace ablation_compare
