#pragma once
// The toy text model: a 2-layer Qwen2 (GQA, rotary, RMSNorm, gated MLP)
// trained on repeated random word sequences, [x1..xn x1..xn], to predict the
// second half. Such a model forms a previous-token head (layer 0) and an
// induction head (layer 1) (Olsson et al. 2022); the trainer finds them by
// their attention patterns and records them beside the checkpoint
// (mechanisms.json), so tests can check analyses against them.
#include <cstdint>
#include <string>

namespace mechlens::toys {

struct InductionOptions {
  int steps = 600;
  int batch = 32;
  int half_length = 10;  // n: the sequence is 2n tokens
  int n_words = 30;      // how many one-token words the sequences draw from
  double lr = 3e-3;
  double head_sparsity = 3e-3;  // group-lasso weight on per-head o_proj slices
  std::uint64_t seed = 1;
};

// Writes the trained checkpoint (config.json, model.safetensors, tokenizer
// files, mechanisms.json) into `directory`. Prints progress to stderr.
void train_induction_model(const std::string& directory, const InductionOptions& options);

}  // namespace mechlens::toys
