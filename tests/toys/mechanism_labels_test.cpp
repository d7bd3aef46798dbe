// The toys' labels (experiments/toy/models/<toy>/mechanisms.json) were
// measured by their trainer with mechlens' own forward and hooks. Here each
// label is re-measured with the independent float64 reference forward
// (tests/toys/remeasure_labels.py over tests/models/reference) on fresh
// held-out inputs drawn from the toy's task, and must hold there with a clear
// margin; a label with no real signal must be recorded as none (null).
// (The shapes VLM's labels need the image processor in Python as well; its
// recorded colour head is checked through `mechlens run` in toy_recipes_test.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "python_requirement.hpp"
#include "subprocess.hpp"

namespace {

using nlohmann::json;
const std::string kToys = std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy/models/";

struct Measured {
  json labels;    // mechanisms.json
  json measured;  // remeasure_labels.py
};

Measured remeasure(const std::string& toy) {
  Measured m;
  std::ifstream in(kToys + toy + "/mechanisms.json");
  m.labels = json::parse(in);
  const auto r = mechlens::testing::run_command(
      "/usr/bin/python3 " MECHLENS_SOURCE_DIR "/tests/toys/remeasure_labels.py " + mechlens::testing::shell_quote(kToys + toy) +
      " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  m.measured = json::parse(r.output, nullptr, false);
  return m;
}

struct Head {
  int layer, head;
  double value;
};
// The head with the largest (or smallest) score of a [layer][head] table, and the runner-up's score.
std::pair<Head, double> extreme(const json& table, bool largest) {
  std::vector<Head> all;
  for (int l = 0; l < static_cast<int>(table.size()); ++l)
    for (int h = 0; h < static_cast<int>(table[l].size()); ++h) all.push_back({l, h, table[l][h].get<double>()});
  std::sort(all.begin(), all.end(), [&](const Head& a, const Head& b) { return largest ? a.value > b.value : a.value < b.value; });
  return {all[0], all[1].value};
}
void expect_label(const json& label, const Head& h, const std::string& what) {
  EXPECT_EQ(label["layer"].get<int>(), h.layer) << what;
  EXPECT_EQ(label["head"].get<int>(), h.head) << what;
}

TEST(MechanismLabels, InductionHeadHoldsAndNoPreviousTokenHeadIsClaimed) {
  MECHLENS_REQUIRE_PYTHON("torch");
  const Measured m = remeasure("induction");
  ASSERT_TRUE(m.measured.is_object());
  EXPECT_EQ(m.measured["accuracy"].get<double>(), 1.0);
  // The recorded induction head attends to the token after the word's first
  // occurrence (measured 0.996) ...
  const auto [induction, runner_up] = extreme(m.measured["induction_score"], true);
  expect_label(m.labels["induction_head"], induction, "induction_score");
  EXPECT_GT(induction.value, 0.9);
  // ... and zeroing it costs the most accuracy (measured 0.27; every other head >= 0.83).
  const auto [weakest, next_weakest] = extreme(m.measured["accuracy_when_zeroed"], false);
  expect_label(m.labels["induction_head"], weakest, "accuracy_when_zeroed");
  EXPECT_LT(weakest.value, 0.5);
  EXPECT_GT(next_weakest, 0.75);
  (void)runner_up;

  // No head attends to the previous token more than uniform causal attention
  // would (best 0.077 vs 0.137), so the toy records none.
  const auto [best, second] = extreme(m.measured["previous_token_score"], true);
  EXPECT_LT(best.value, m.measured["previous_token_chance"].get<double>());
  EXPECT_TRUE(m.labels["previous_token_head"].is_null()) << m.labels["previous_token_head"];
  (void)second;
}

TEST(MechanismLabels, AgreementAndNextTokenHeadsHoldUnderTheReferenceForward) {
  MECHLENS_REQUIRE_PYTHON("torch");
  const Measured m = remeasure("grammar_bert");
  ASSERT_TRUE(m.measured.is_object());
  EXPECT_EQ(m.measured["agreement_accuracy"].get<double>(), 1.0);
  // From the [MASK]: the agreement head attends to the subject (measured
  // 0.56, runner-up 0.24), the next-token head to the adverb after it (0.68, runner-up 0.48).
  const auto [subject, subject_runner_up] = extreme(m.measured["attention_to_subject"], true);
  expect_label(m.labels["agreement_head_by_attention"], subject, "attention_to_subject");
  EXPECT_GT(subject.value, 0.4);
  EXPECT_GT(subject.value - subject_runner_up, 0.15);
  const auto [next, next_runner_up] = extreme(m.measured["attention_to_next"], true);
  expect_label(m.labels["next_token_head"], next, "attention_to_next");
  EXPECT_GT(next.value, 0.5);
  EXPECT_GT(next.value - next_runner_up, 0.1);
  // Zeroing the agreement head leaves agreement near chance (measured 0.575);
  // zeroing any other head leaves it >= 0.99.
  const auto [weakest, next_weakest] = extreme(m.measured["agreement_accuracy_when_zeroed"], false);
  expect_label(m.labels["agreement_head"], weakest, "agreement_accuracy_when_zeroed");
  EXPECT_LT(weakest.value, 0.75);
  EXPECT_GT(next_weakest, 0.95);
}

}  // namespace
