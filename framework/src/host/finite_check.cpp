#include "host/finite_check.hpp"

#include <ATen/ATen.h>

#include "checkpoint/checkpoint.hpp"
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

// The first floating-point tensor of the checkpoint (in name order) holding
// NaN or Inf, read straight from the files; "" when none does or the
// checkpoint cannot be read again. Only on the failure path: it reads every
// weight once.
std::string first_non_finite_tensor(const std::string& directory) {
  try {
    const checkpoint::Checkpoint ckpt = checkpoint::Checkpoint::open(directory);
    for (const std::string& name : ckpt.names()) {
      const checkpoint::TensorView& v = ckpt.view(name);
      const at::ScalarType type = checkpoint::to_scalar_type(v.dtype);
      if (!at::isFloatingType(type) || v.nbytes == 0) continue;
      const at::Tensor t = at::from_blob(const_cast<std::byte*>(v.data), v.shape, at::TensorOptions().dtype(type));
      if (!all_finite(t)) {
        const bool nan = at::isnan(t).any().item<bool>();
        return "'" + name + "' (" + v.file + ") holds " + (nan ? "NaN" : "Inf");
      }
    }
  } catch (const std::exception&) {
  }
  return "";
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
    const std::string tensor = first_non_finite_tensor(model.identity().path);
    fail("input '" + input.spec.id + "'",
         "the clean forward gives non-finite logits (NaN or Inf); non-finite values first appear at " + where +
             (tensor.empty() ? ". No weight is NaN or Inf: the dtype likely overflows (try float32)"
                             : ". The checkpoint's tensor " + tensor) +
             "; nothing was analysed");
  }
}

}  // namespace mechlens::host
