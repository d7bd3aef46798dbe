#include "mechlens/answer_check.hpp"

#include <ATen/ATen.h>

#include <cmath>

#include "mechlens/error.hpp"

namespace mechlens {

AnswerTarget answer_target(const Model& model, const EncodedInput& input, const at::Tensor& clean_logits) {
  const at::Tensor p = at::softmax(clean_logits.to(at::kDouble).cpu().flatten(), -1);
  AnswerTarget t;
  t.clean_top = p.argmax().item<std::int64_t>();
  t.clean_top_prob = p[t.clean_top].item<double>();
  const std::string& expected = input.spec.expected;
  if (!expected.empty()) {
    for (const std::string& spelling : {expected, expected.front() == ' ' ? std::string() : " " + expected}) {
      if (spelling.empty()) continue;
      const EncodedInput e = model.encode_raw(spelling);
      if (e.ids.empty()) continue;
      const double q = p[e.ids[0]].item<double>();
      if (t.expected < 0 || q > t.clean_expected_prob) t.expected = e.ids[0], t.clean_expected_prob = q;
    }
    if (t.expected < 0) fail("input '" + input.spec.id + "'", "the expected answer '" + expected + "' has no tokens");
    t.expected_token = model.token_string(t.expected);
  }
  t.clean_correct = t.clean_top == (t.expected >= 0 ? t.expected : t.clean_top);
  return t;
}

AnswerChange answer_change(const AnswerTarget& t, const at::Tensor& logits) {
  const at::Tensor p = at::softmax(logits.to(at::kDouble).cpu().flatten(), -1);
  AnswerChange c;
  c.top_prob_change = (p[t.clean_top].item<double>() - t.clean_top_prob) / t.clean_top_prob;
  const std::int64_t top = p.argmax().item<std::int64_t>();
  c.correct = top == (t.expected >= 0 ? t.expected : t.clean_top);
  c.expected_prob_drop = t.expected >= 0 ? t.clean_expected_prob - p[t.expected].item<double>() : NAN;
  return c;
}

}  // namespace mechlens
