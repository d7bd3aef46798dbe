#include "host/finite_check.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"

namespace mechlens::host {

namespace {

bool all_finite(const at::Tensor& t) {
  if (!t.defined() || !t.is_floating_point() || t.numel() == 0) return true;
  return at::isfinite(t).all().item<bool>();
}

// "blocks.3.attn.hook_q" → "layer 3"; "vision.blocks.0.hook_mlp_out" → "vision layer 0".
std::string layer_of(const std::string& hook) {
  const std::string marker = "blocks.";
  const std::size_t at = hook.find(marker);
  if (at == std::string::npos) return hook.rfind("hook_embed", 0) == 0 ? "the embeddings" : "";
  const std::size_t start = at + marker.size();
  const std::size_t end = hook.find('.', start);
  const std::string prefix = hook.compare(0, 7, "vision.") == 0 ? "vision layer " : "layer ";
  return prefix + hook.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

std::string first_non_finite_hook(const Model& model, const Batch& batch, const at::Tensor& positions) {
  at::NoGradGuard no_grad;
  std::string first;
  HookSet hooks;
  hooks.add_read("*", [&first](const std::string& name, const at::Tensor& value) {
    if (first.empty() && !all_finite(value)) first = name;
  });
  model.forward(batch, &hooks, positions);
  return first;
}

void check_clean_forward(const Model& model, const std::vector<EncodedInput>& inputs) {
  at::NoGradGuard no_grad;
  for (const EncodedInput& input : inputs) {
    const Batch batch = model.make_batch({&input});
    const at::Tensor answer = at::tensor({input.answer_position}, at::kLong);
    if (all_finite(model.forward(batch, nullptr, answer))) continue;
    const std::string hook = first_non_finite_hook(model, batch, answer);
    std::string where = "the unembedding (after every hook point)";
    if (!hook.empty()) {
      const std::string layer = layer_of(hook);
      where = "hook point '" + hook + "'" + (layer.empty() ? "" : " (" + layer + ")");
    }
    fail("input '" + input.spec.id + "'",
         "the clean forward gives non-finite logits (NaN or Inf); non-finite values first appear at " + where +
             ". The checkpoint likely holds a NaN or Inf weight (or the dtype overflows): nothing was analysed");
  }
}

}  // namespace mechlens::host
