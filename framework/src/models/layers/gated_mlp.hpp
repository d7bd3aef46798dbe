#pragma once
// The SiLU-gated feed-forward of Llama-style decoders (Qwen2MLP, Phi3MLP):
// down(act(gate(x)) * up(x)). Phi-3 stores gate and up fused in one matrix
// (gate_up_proj, gate rows first); `fused` handles that spelling.
#include <ATen/core/Tensor.h>

#include "models/layers/activations.hpp"
#include "models/layers/linear.hpp"

namespace mechlens::layers {

struct GatedMlp {
  Linear gate;   // [ff, d]   (undefined when fused is used)
  Linear up;     // [ff, d]
  Linear fused;  // [2*ff, d] gate rows, then up rows (Phi-3's gate_up_proj); optional
  Linear down;   // [d, ff]
  Activation act = Activation::silu;

  at::Tensor operator()(const at::Tensor& x) const;
};

}  // namespace mechlens::layers
