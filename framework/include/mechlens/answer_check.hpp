#pragma once
// What an intervention did to one input's answer (seed 004's metrics, shared
// by knockout_windows and visual_token_ablation): the relative change of the
// clean top token's probability, whether the answer stays correct (top-1 vs
// the expected answer when the input has one, else vs the clean top token),
// and the drop of the expected answer's probability.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "mechlens/model.hpp"

namespace mechlens {

struct AnswerTarget {
  std::int64_t clean_top = -1;
  double clean_top_prob = 0;
  // The expected answer's first token (-1: the input has none). A decoder
  // may spell a word with or without its leading space; of `expected` and
  // " " + expected, the spelling whose first token the clean model finds
  // more probable is used (the answer follows "assistant\n" in chat
  // templates, where either occurs).
  std::int64_t expected = -1;
  std::string expected_token;  // its token string
  double clean_expected_prob = 0;
  bool clean_correct = false;  // clean top-1 == the target
};

// `clean_logits`: [vocab] at the answer position.
AnswerTarget answer_target(const Model& model, const EncodedInput& input, const at::Tensor& clean_logits);

struct AnswerChange {
  double top_prob_change = 0;     // (p(clean top) - p_clean(clean top)) / p_clean(clean top)
  bool correct = false;           // top-1 == expected (or == clean top without one)
  double expected_prob_drop = 0;  // p_clean(expected) - p(expected); NaN without an expected answer
};

AnswerChange answer_change(const AnswerTarget& target, const at::Tensor& logits);

}  // namespace mechlens
