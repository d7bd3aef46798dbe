#include "models/layers/linear.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"

namespace mechlens::layers {

at::Tensor Linear::operator()(const at::Tensor& x) const {
  // at::linear fuses the bias add (addmm) for 2-D inputs and broadcasts the
  // leading dimensions otherwise.
  return at::linear(x, weight, bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt);
}

Linear Linear::rows(std::int64_t start, std::int64_t n) const {
  return {weight.narrow(0, start, n), bias.defined() ? bias.narrow(0, start, n) : at::Tensor()};
}

Linear stack(const std::vector<const Linear*>& parts) {
  std::vector<at::Tensor> weights, biases;
  for (const Linear* part : parts) {
    weights.push_back(part->weight);
    if (part->bias.defined()) biases.push_back(part->bias);
  }
  if (!biases.empty() && biases.size() != parts.size())
    fail("layers::stack", "some of the stacked linears have a bias and some do not");
  return {at::cat(weights), biases.empty() ? at::Tensor() : at::cat(biases)};
}

}  // namespace mechlens::layers
