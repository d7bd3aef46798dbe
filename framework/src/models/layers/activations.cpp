#include "models/layers/activations.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"

namespace mechlens::layers {

Activation parse_activation(const std::string& name, const std::string& where) {
  if (name == "gelu") return Activation::gelu;
  // gelu_new (GPT-2/BERT-era "NewGELU") and gelu_pytorch_tanh are the same
  // tanh formula (transformers/activations.py); gelu_fast differs only in
  // how the constant is written.
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::gelu_tanh;
  if (name == "silu" || name == "swish") return Activation::silu;
  if (name == "relu") return Activation::relu;
  fail(where, "unsupported activation '" + name + "' (gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, silu, relu)");
}

const char* to_string(Activation activation) {
  switch (activation) {
    case Activation::gelu: return "gelu";
    case Activation::gelu_tanh: return "gelu_pytorch_tanh";
    case Activation::silu: return "silu";
    case Activation::relu: return "relu";
  }
  return "?";
}

at::Tensor activate(Activation activation, const at::Tensor& x) {
  switch (activation) {
    case Activation::gelu: return at::gelu(x, "none");
    case Activation::gelu_tanh: return at::gelu(x, "tanh");
    case Activation::silu: return at::silu(x);
    case Activation::relu: return at::relu(x);
  }
  return x;
}

}  // namespace mechlens::layers
