#include "models/phi4mm/phi4mm_lora.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"

namespace mechlens::models::phi4mm {

LoraMode parse_lora_mode(const std::string& name) {
  if (name.empty() || name == "runtime") return LoraMode::runtime;
  if (name == "merged") return LoraMode::merged;
  fail("model.lora", "'" + name + "' is not a LoRA mode (runtime, merged)");
}

const char* to_string(LoraMode mode) { return mode == LoraMode::merged ? "merged" : "runtime"; }

void LoraLinear::merge() {
  if (!a.defined()) return;
  // PEFT's get_delta_weight: B @ A * scaling, in float32 for low-precision CPU weights.
  const at::Tensor w0 = base.weight.to(at::kFloat);
  const at::Tensor delta = at::matmul(b.to(at::kFloat), a.to(at::kFloat)) * scale;
  merged = (w0 + delta).to(base.weight.scalar_type());
  a = at::Tensor();
  b = at::Tensor();
}

at::Tensor LoraLinear::operator()(const at::Tensor& x, const LoraRows& rows) const {
  if (!rows.active || !has_lora()) return at::linear(x, base.weight);
  if (rows.mask.defined() && rows.mask.size(0) != 1 && rows.mask.size(0) != x.size(0))
    fail("phi4mm", "the vision LoRA's row mask has " + std::to_string(rows.mask.size(0)) + " rows, the activations " +
                       std::to_string(x.size(0)) + " (a write hook changed the batch of a mixed image/text batch)");
  if (merged.defined()) {
    at::Tensor with = at::linear(x, merged);
    if (!rows.mask.defined()) return with;
    return at::where(rows.mask, with, at::linear(x, base.weight));
  }
  at::Tensor delta = at::linear(at::linear(x, a), b) * scale;
  if (rows.mask.defined()) delta = delta * rows.mask.to(delta.scalar_type());
  return at::linear(x, base.weight) + delta;
}

}  // namespace mechlens::models::phi4mm
