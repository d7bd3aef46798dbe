#pragma once
// One input's AtMan explanation: the teacher-forced sequence, the target,
// which positions were suppressed, and the scores.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mechlens/run_context.hpp"

namespace atman {

struct Settings {
  double factor = 0.1;
  bool conceptual = true;
  double kappa = 0.6;
  std::vector<int> layers;        // empty = all
  std::string target = "auto";    // auto | expected | model
  std::int64_t answer_tokens = 1; // tokens generated when the target is the model's answer
  std::string explain = "all";    // all | image | text
  std::string aggregate = "sum";  // sum | squared_sum
  std::int64_t max_batch = 8;
  bool prefix_reuse = true;       // causal models: run each chunk only from its first suppressed key
};

struct Explanation {
  mechlens::EncodedInput sequence;          // prompt + target (decoders), the prompt (BERT)
  std::vector<std::int64_t> target_ids;     // [P]
  std::vector<std::int64_t> target_positions;  // where each target token is read (the position before it)
  std::string target_source;                // "expected" | "model"
  std::vector<std::int64_t> explained;      // [R] suppressed positions, ascending
  at::Tensor clean_ce;                      // [P] float64
  at::Tensor score;                         // [R, P] clean - suppressed cross-entropy (the authors' sign)
  at::Tensor relevance;                     // [R] sum over P of score (or of score^2)
  std::int64_t generation_forwards = 0;     // forwards spent finding the model's answer
  // Forward-equivalents (clean + suppressed rows x run positions / T + generation):
  double forwards = 0;                      // spent
  double forwards_no_reuse = 0;             // every row a full forward
  double forwards_prefix_reuse = 0;         // each chunk from its first suppressed key (= no_reuse for BERT)
};

Explanation explain(mechlens::RunContext& ctx, const mechlens::EncodedInput& input, const Settings& s);

}  // namespace atman
