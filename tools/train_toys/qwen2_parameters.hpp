#pragma once
// The Qwen2ForCausalLM tensor names of a Qwen2Weights, so that the toy trainer
// can make them trainable and write them back in the Hugging Face layout.
#include <string>
#include <utility>
#include <vector>

#include "models/qwen2/qwen2_weights.hpp"

namespace mechlens::toys {

// (checkpoint name, tensor) for every parameter; the tied LM head is not listed.
std::vector<std::pair<std::string, at::Tensor*>> named_parameters(models::qwen2::Qwen2Weights& w,
                                                                  const std::string& prefix = "model.");

// Replaces every parameter by a fresh trainable copy (re-tying the head).
void make_trainable(models::qwen2::Qwen2Weights& w);

}  // namespace mechlens::toys
