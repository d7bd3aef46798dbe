#pragma once
// Normalisations over the last dimension.
#include <ATen/core/Tensor.h>

namespace mechlens::layers {

// torch.nn.LayerNorm (BERT, SigLIP): eps from the config.
struct LayerNorm {
  at::Tensor weight;
  at::Tensor bias;  // may be undefined
  double eps = 1e-12;

  at::Tensor operator()(const at::Tensor& x) const;
};

// RMSNorm as Hugging Face's Qwen2RMSNorm / Phi3RMSNorm: the statistics in
// float32 whatever the input dtype, the result cast back before the weight
// multiplies it (modeling_qwen2.py, Qwen2RMSNorm.forward).
struct RmsNorm {
  at::Tensor weight;
  double eps = 1e-6;

  at::Tensor operator()(const at::Tensor& x) const;
};

}  // namespace mechlens::layers
