// Ground truth on the toy text model: it was trained on induction sequences
// and its trainer recorded which head does induction (mechanisms.json). A
// correct sensitivity analysis must find that head; zeroing it must hurt
// induction far more than zeroing any other head.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "mechlens/interventions.hpp"
#include "models/registry.hpp"

namespace {

const std::string kToy = std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy/models/induction";

struct Prompt {
  mechlens::EncodedInput input;
  std::int64_t expected = -1;
};

class InductionToy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = mechlens::models::load("qwen2", {kToy, "float32", "cpu"}).release();
    std::ifstream in(kToy + "/mechanisms.json");
    mechanisms_ = nlohmann::json::parse(in);
    // Held-out prompts: n distinct words, then the first n-1 again; the answer is word n.
    const auto words = mechanisms_["words"].get<std::vector<std::string>>();
    const int n = mechanisms_["half_length"].get<int>();
    std::mt19937 rng(2024);
    for (int p = 0; p < 24; ++p) {
      std::vector<std::string> w = words;
      std::shuffle(w.begin(), w.end(), rng);
      std::string text;
      for (int i = 0; i < n; ++i) text += " " + w[i];
      for (int i = 0; i < n - 1; ++i) text += " " + w[i];
      mechlens::InputSpec spec;
      spec.text = text;
      Prompt prompt{model_->encode(spec), -1};
      prompt.expected = model_->encode_raw(" " + w[n - 1]).ids.at(0);
      prompts_.push_back(prompt);
    }
  }
  static void TearDownTestSuite() { delete model_; }

  // Fraction of prompts whose top token at the last position is the answer.
  static double accuracy(const mechlens::HookSet* hooks) {
    int right = 0;
    for (const auto& p : prompts_) {
      const mechlens::Batch batch = model_->make_batch({&p.input});
      const at::Tensor last = at::tensor({p.input.answer_position}, at::kLong);
      at::NoGradGuard no_grad;
      right += model_->forward(batch, hooks, last)[0][0].argmax().item<std::int64_t>() == p.expected;
    }
    return static_cast<double>(right) / prompts_.size();
  }

  static mechlens::Model* model_;
  static nlohmann::json mechanisms_;
  static std::vector<Prompt> prompts_;
};

mechlens::Model* InductionToy::model_ = nullptr;
nlohmann::json InductionToy::mechanisms_;
std::vector<Prompt> InductionToy::prompts_;

TEST_F(InductionToy, PromptsTokenizeToOneTokenPerWord) {
  const int n = mechanisms_["half_length"].get<int>();
  for (const auto& p : prompts_) EXPECT_EQ(p.input.ids.size(), static_cast<std::size_t>(2 * n - 1));
}

TEST_F(InductionToy, ModelDoesInduction) { EXPECT_GE(accuracy(nullptr), 0.95); }

TEST_F(InductionToy, SensitivityMatrixFindsTheRecordedInductionHead) {
  const mechlens::Geometry g = model_->geometry();
  at::Tensor mean_abs = at::zeros({g.n_layers, g.n_heads}, at::kDouble);
  for (const auto& p : prompts_) {
    const mechlens::Batch single = model_->make_batch({&p.input});
    const at::Tensor last = at::tensor({p.input.answer_position}, at::kLong);
    const mechlens::CleanRun clean = mechlens::capture_resid_pre(*model_, single, last);
    const at::Tensor base = at::softmax(clean.logits[0][0].to(at::kDouble), -1);
    const std::int64_t top = base.argmax().item<std::int64_t>();
    for (int l = 0; l < g.n_layers; ++l) {
      const at::Tensor rows = mechlens::ablate_each_head(*model_, single, clean.resid_pre[l], l,
                                                         mechlens::HeadAblation::zero, last);
      const at::Tensor p_top = at::softmax(rows.select(1, 0).to(at::kDouble), -1).select(-1, top);
      mean_abs[l] += ((p_top - base[top]) / base[top]).abs() / static_cast<double>(prompts_.size());
    }
  }
  const auto best = mean_abs.argmax().item<std::int64_t>();
  EXPECT_EQ(best / g.n_heads, mechanisms_["induction_head"]["layer"].get<int>()) << mean_abs;
  EXPECT_EQ(best % g.n_heads, mechanisms_["induction_head"]["head"].get<int>()) << mean_abs;
}

TEST_F(InductionToy, ZeroingTheInductionHeadHurtsFarMoreThanAnyOther) {
  const mechlens::Geometry g = model_->geometry();
  const double clean = accuracy(nullptr);
  const int il = mechanisms_["induction_head"]["layer"].get<int>();
  const int ih = mechanisms_["induction_head"]["head"].get<int>();
  double induction_drop = 0, worst_other = 0;
  for (int l = 0; l < g.n_layers; ++l)
    for (int h = 0; h < g.n_heads; ++h) {
      mechlens::HookSet hooks;
      mechlens::add_head_ablations(hooks, g, {mechlens::LayerHead{l, h}}, mechlens::HeadAblation::zero);
      const double drop = clean - accuracy(&hooks);
      if (l == il && h == ih) induction_drop = drop;
      else worst_other = std::max(worst_other, drop);
    }
  EXPECT_GE(induction_drop, 0.5);
  EXPECT_GE(induction_drop, 3 * worst_other + 0.1) << "other heads' worst drop " << worst_other;
}

}  // namespace
