// AtMan's attention suppression on a tiny random Qwen2 (causal, grouped
// KV heads): factor 1 changes nothing bit for bit; a suppressed key after
// every target position changes nothing causally; batched rows equal single
// runs; the row minimum is taken over the whole raw row (masked future keys
// included); correlated suppression with kappa > 1 is plain suppression.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "mechlens/interventions.hpp"
#include "models/registry.hpp"
#include "python_requirement.hpp"
#include "tiny_qwen2_support.hpp"  // Scratch, run_reference

namespace mechlens {
namespace {

using testing::Scratch;

class AttentionSuppression : public ::testing::Test {
 protected:
  void SetUp() override {
    tiny::TinyQwen2Options o;
    o.layers = 3;
    o.seed = 7;
    tiny::write_tiny_qwen2(scratch.path("qwen2"), o);
    model = models::load("qwen2", {scratch.path("qwen2"), "float32", "cpu"});
    // Ids fed directly (one repeated id: positions 2 and 6 share an embedding).
    input.ids = {5, 17, 23, 40, 8, 31, 23, 12, 50, 9};
    for (std::int64_t id : input.ids) {
      input.tokens.push_back(model->token_string(id));
      input.annotations.push_back(TokenAnnotation{Modality::text});
    }
    input.answer_position = static_cast<std::int64_t>(input.ids.size()) - 1;
    single = model->make_batch({&input});
    at::NoGradGuard no_grad;
    embeds = model->embed(single, nullptr);
  }
  // Target: the tokens at positions 5..7, read at 4..6.
  at::Tensor positions() const { return at::tensor(std::vector<std::int64_t>{4, 5, 6}, at::kLong); }
  at::Tensor ids() const { return at::tensor(std::vector<std::int64_t>{input.ids[5], input.ids[6], input.ids[7]}, at::kLong); }
  at::Tensor ce(const at::Tensor& factors, std::int64_t max_batch = 64, const std::vector<int>& layers = {}) const {
    return suppressed_cross_entropy(*model, single, embeds, factors, layers, positions(), ids(), max_batch);
  }
  at::Tensor clean() const { return clean_cross_entropy(*model, single, embeds, positions(), ids()); }
  std::vector<std::int64_t> all_positions() const {
    std::vector<std::int64_t> p(input.ids.size());
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::int64_t>(i);
    return p;
  }

  Scratch scratch;
  std::unique_ptr<Model> model;
  EncodedInput input;
  Batch single;
  at::Tensor embeds;
};

TEST_F(AttentionSuppression, FactorOneGivesScoresOfExactlyZero) {
  const at::Tensor factors = suppression_factors(embeds[0], all_positions(), 1.0, /*conceptual=*/true, 0.0);
  ASSERT_TRUE(at::equal(factors, at::ones_like(factors)));
  const at::Tensor score = clean().unsqueeze(0) - ce(factors, 4);
  EXPECT_EQ(score.abs().max().item<double>(), 0.0);
  // The edit itself with factors of 1 is the clean forward up to rounding
  // (softmax ignores the row shift).
  HookSet hooks;
  add_attention_suppression(hooks, model->geometry(), at::full({2, embeds.size(1)}, 1.0f).index_put_({1, 3}, 1.0f + 1e-7f));
  at::NoGradGuard no_grad;
  const at::Tensor edited = model->forward_from(0, embeds, single, &hooks, positions());
  EXPECT_LT(testing::rel_diff(edited[1], model->forward_from(0, embeds, single, nullptr, positions())[0]), 1e-5);
  // A real factor does change them (the test can fail).
  const at::Tensor real = clean().unsqueeze(0) - ce(suppression_factors(embeds[0], all_positions(), 0.1, false, 0.6));
  EXPECT_GT(real.abs().max().item<double>(), 1e-3);
}

TEST_F(AttentionSuppression, SuppressingAKeyAfterTheTargetChangesNothing) {
  // The last target token is read at position 6: keys 7.. are in its future.
  const at::Tensor after = suppression_factors(embeds[0], {7, 8, 9}, 0.0, false, 0.6);
  EXPECT_LT((ce(after) - clean().unsqueeze(0)).abs().max().item<double>(), 1e-5);
  const at::Tensor before = suppression_factors(embeds[0], {1, 3}, 0.0, false, 0.6);
  EXPECT_GT((ce(before) - clean().unsqueeze(0)).abs().max().item<double>(), 1e-3);
  // Per target token: key 5 is after the first target read (position 4) only.
  const at::Tensor five = ce(suppression_factors(embeds[0], {5}, 0.0, false, 0.6))[0];
  EXPECT_LT(std::abs(five[0].item<double>() - clean()[0].item<double>()), 1e-5);
  EXPECT_GT(std::abs(five[2].item<double>() - clean()[2].item<double>()), 1e-4);
}

TEST_F(AttentionSuppression, BatchedRowsEqualSingleRuns) {
  const at::Tensor factors = suppression_factors(embeds[0], all_positions(), 0.1, true, 0.6);
  const at::Tensor batched = ce(factors, 64);
  const at::Tensor chunked = ce(factors, 3);
  ASSERT_EQ(batched.size(0), factors.size(0));
  for (std::int64_t r = 0; r < factors.size(0); ++r) {
    const at::Tensor one = ce(factors.narrow(0, r, 1), 1);
    EXPECT_LT((batched[r] - one[0]).abs().max().item<double>(), 1e-5) << "row " << r;
    EXPECT_LT((chunked[r] - one[0]).abs().max().item<double>(), 1e-5) << "row " << r;
  }
  // Layers restrict the edit: layer 1 alone differs from all layers.
  EXPECT_GT((ce(factors, 64, {1}) - batched).abs().max().item<double>(), 1e-5);
}

// The edit written out by hand at hook_attn_scores_unmasked, with the row
// minimum over the whole raw row or over the causally allowed keys only.
at::Tensor by_hand(const Model& model, const Batch& single, const at::Tensor& embeds, std::int64_t key, double f,
                   bool whole_row, const at::Tensor& positions, const at::Tensor& ids) {
  HookSet hooks;
  hooks.add_write("blocks.*.attn.hook_attn_scores_unmasked", [=](const std::string&, const at::Tensor& s) {
    const auto T = s.size(-1);
    at::Tensor minimum;
    if (whole_row) {
      minimum = std::get<0>(s.min(-1, true));
    } else {
      const at::Tensor future = at::ones({T, T}, at::kBool).triu(1);
      minimum = std::get<0>(s.masked_fill(future, INFINITY).min(-1, true));
    }
    at::Tensor out = s - minimum;
    out.select(-1, key).mul_(f);
    return out;
  });
  at::NoGradGuard no_grad;
  const at::Tensor logits = model.forward_from(0, embeds, single, &hooks, positions);
  return -at::log_softmax(logits.to(at::kDouble), -1)[0].gather(1, ids.view({-1, 1})).squeeze(1);
}

TEST_F(AttentionSuppression, RowMinimumIncludesMaskedFutureKeys) {
  const std::int64_t key = 2;
  const double f = 0.1;
  const at::Tensor ours = ce(suppression_factors(embeds[0], {key}, f, false, 0.6))[0];
  const at::Tensor whole = by_hand(*model, single, embeds, key, f, true, positions(), ids());
  const at::Tensor causal = by_hand(*model, single, embeds, key, f, false, positions(), ids());
  EXPECT_LT((ours - whole).abs().max().item<double>(), 1e-6);
  // The two minima give different numbers, so the check above can fail.
  EXPECT_GT((causal - whole).abs().max().item<double>(), 1e-4);
}

TEST_F(AttentionSuppression, CorrelatedSuppressionAboveKappaOneIsPlainSuppression) {
  const at::Tensor plain = suppression_factors(embeds[0], all_positions(), 0.1, false, 0.6);
  const at::Tensor high = suppression_factors(embeds[0], all_positions(), 0.1, true, 1.01);
  EXPECT_TRUE(at::equal(plain, high));
  EXPECT_TRUE(at::equal(ce(plain), ce(high)));
  // With kappa <= 1 the repeated id (positions 2 and 6, cosine 1) is suppressed with it.
  const at::Tensor low = suppression_factors(embeds[0], {2}, 0.1, true, 0.6);
  EXPECT_FLOAT_EQ(low[0][6].item<float>(), 0.1f);
  EXPECT_FLOAT_EQ(plain[2][6].item<float>(), 1.0f);
  // Others get factor + (1 - factor)(1 - cos) where cos >= kappa, else 1.
  const at::Tensor e = embeds[0].to(at::kFloat);
  const at::Tensor unit = e / e.norm(2, -1, true);
  const at::Tensor cos = at::matmul(unit[2], unit.t());
  for (std::int64_t t = 0; t < e.size(0); ++t) {
    const double c = cos[t].item<double>();
    const double expected = (t == 2 || c >= 0.6) ? 0.1 + 0.9 * (1.0 - std::min(c, 1.0)) : 1.0;
    EXPECT_NEAR(low[0][t].item<double>(), expected, 1e-6) << "position " << t;
  }
}

TEST_F(AttentionSuppression, AgreesWithThePythonReference) {
  MECHLENS_REQUIRE_PYTHON("torch", "numpy");
  // Every prompt token except the target's last (position 7), as the plugin would.
  const std::vector<std::int64_t> explained = {0, 1, 2, 3, 4, 5, 6};
  struct Case {
    bool conceptual;
    std::vector<int> layers;
  };
  const std::vector<Case> cases = {{false, {}}, {true, {}}, {true, {0, 2}}};
  nlohmann::json request;
  request["ids"] = input.ids;
  request["positions"] = std::vector<std::int64_t>{4, 5, 6};
  request["targets"] = std::vector<std::int64_t>{input.ids[5], input.ids[6], input.ids[7]};
  for (const Case& c : cases)
    request["cases"].push_back(
        {{"explained", explained}, {"factor", 0.1}, {"conceptual", c.conceptual}, {"kappa", 0.3}, {"layers", c.layers}});
  const auto ref = testing::run_reference("atman_reference.py", scratch.path("qwen2"), request, scratch);
  ASSERT_TRUE(ref.count("clean"));
  EXPECT_LT(testing::max_abs_diff(clean(), ref.at("clean")), 1e-4);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string n = std::to_string(i);
    const at::Tensor factors = suppression_factors(embeds[0], explained, 0.1, cases[i].conceptual, 0.3);
    const at::Tensor score = clean().unsqueeze(0) - ce(factors, 4, cases[i].layers);
    EXPECT_LT(testing::max_abs_diff(factors, ref.at("factors_" + n)), 1e-6) << "case " << i;
    EXPECT_LT(testing::max_abs_diff(score, ref.at("score_" + n)), 1e-4) << "case " << i;
    // Not a vacuous match: the scores are far from zero.
    EXPECT_GT(ref.at("score_" + n).abs().max().item<double>(), 1e-2) << "case " << i;
    if (cases[i].conceptual) {  // kappa 0.3 co-suppresses more than the explained tokens
      EXPECT_GT((factors != 1.0f).sum().item<std::int64_t>(), static_cast<std::int64_t>(explained.size()));
    }
  }
}

}  // namespace
}  // namespace mechlens
