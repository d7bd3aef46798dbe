// Attribution patching: each head's estimate is the derivative of the metric
// along the straight line from the clean activation to the ablated one, so a
// finite difference along that line (a forward with hook_z moved by a small
// step toward the ablation, for that head only) must give the same number.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "mechlens/interventions.hpp"
#include "models/registry.hpp"
#include "tiny_bert_support.hpp"
#include "tiny_qwen2.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

// p(t*) / p*: the metric the sensitivity matrix's top1_prob_change linearises.
LogitMetric top_prob(std::int64_t top, double p_top) {
  return [=](const at::Tensor& logits) { return at::softmax(logits[0], -1)[top] / p_top; };
}

// The metric after moving head (layer, head) a fraction eps of the way to its ablation.
double moved(const Model& model, const Batch& batch, const at::Tensor& answer, int layer, int head, HeadAblation kind,
             double eps, const LogitMetric& metric) {
  // The fully ablated z of that head, as the framework's own ablation writes it.
  at::Tensor full;
  {
    HookSet both;
    add_head_ablations(both, model.geometry(), {LayerHead{layer, head}}, kind, batch.attention_mask);
    both.add_read("blocks." + std::to_string(layer) + ".attn.hook_z",
                  [&](const std::string&, const at::Tensor& z) { full = z.clone(); });
    at::NoGradGuard no_grad;
    model.forward(batch, &both, answer);
  }
  HookSet step;
  step.add_write("blocks." + std::to_string(layer) + ".attn.hook_z", [&](const std::string&, const at::Tensor& z) {
    at::Tensor out = z.clone();
    out.select(2, head).add_((full.select(2, head) - z.select(2, head)) * eps);
    return out;
  });
  at::NoGradGuard no_grad;
  return metric(model.forward(batch, &step, answer)[0].to(at::kDouble)).item<double>();
}

void expect_estimates_equal_finite_differences(const Model& model, const std::string& text) {
  InputSpec spec;
  spec.id = "x";
  spec.text = text;
  const EncodedInput input = model.encode(spec);
  const Batch batch = model.make_batch({&input});
  const at::Tensor answer = at::tensor({input.answer_position}, at::kLong);
  at::Tensor clean;
  {
    at::NoGradGuard no_grad;
    clean = model.forward(batch, nullptr, answer)[0][0].to(at::kDouble);
  }
  const std::int64_t top = clean.argmax().item<std::int64_t>();
  const LogitMetric metric = top_prob(top, at::softmax(clean, -1)[top].item<double>());
  const Geometry g = model.geometry();
  for (HeadAblation kind : {HeadAblation::zero, HeadAblation::identity, HeadAblation::mean}) {
    const at::Tensor estimate = attribute_head_ablations(model, batch, kind, answer, {metric})[0];
    ASSERT_EQ(estimate.sizes(), (at::IntArrayRef{g.n_layers, g.n_heads}));
    const double base = metric(clean.unsqueeze(0)).item<double>();
    EXPECT_NEAR(base, 1.0, 1e-12);
    double largest = 0;
    for (int l = 0; l < g.n_layers; ++l)
      for (int h = 0; h < g.n_heads; ++h) {
        const double eps = 1e-6;
        const double slope = (moved(model, batch, answer, l, h, kind, eps, metric) - base) / eps;
        largest = std::max(largest, std::abs(slope));
        EXPECT_NEAR(estimate[l][h].item<double>(), slope, 1e-5 + 1e-4 * std::abs(slope))
            << to_string(kind) << " layer " << l << " head " << h;
      }
    EXPECT_GT(largest, 1e-3) << "heads must matter for the check to mean anything";
  }
}

TEST(HeadAttribution, EqualsFiniteDifferencesOnBert) {
  Scratch scratch;
  tiny::TinyBertOptions o;
  o.layers = 2;
  o.heads = 4;
  o.seed = 5;
  const auto model = testing::tiny_bert(scratch, o, "ckpt", "float64");
  expect_estimates_equal_finite_differences(*model, "the cat sat on the [MASK] .");
}

TEST(HeadAttribution, EqualsFiniteDifferencesOnQwen2WithSharedKvHeads) {
  Scratch scratch;
  tiny::write_tiny_qwen2(scratch.path("qwen2"), {});
  const auto model = models::load("qwen2", {scratch.path("qwen2"), "float64", "cpu"});
  ASSERT_LT(model->geometry().n_kv_heads, model->geometry().n_heads);
  expect_estimates_equal_finite_differences(*model, "the cat sat on the mat and the dog");
}

}  // namespace
}  // namespace mechlens
