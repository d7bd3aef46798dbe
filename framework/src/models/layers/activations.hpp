#pragma once
// Activation functions named as Hugging Face's ACT2FN names them.
#include <ATen/core/Tensor.h>

#include <string>

namespace mechlens::layers {

enum class Activation {
  gelu,       // exact: x * Phi(x) with erf ("gelu")
  gelu_tanh,  // tanh approximation ("gelu_new", "gelu_pytorch_tanh", "gelu_fast")
  silu,       // x * sigmoid(x) ("silu", "swish")
  relu,
};

// `where` names the config file and key for the error on an unknown name.
Activation parse_activation(const std::string& name, const std::string& where);
const char* to_string(Activation activation);
at::Tensor activate(Activation activation, const at::Tensor& x);

}  // namespace mechlens::layers
