// AtMan on a tiny LLaVA-OneVision with an image in the prompt against the
// independent float64 reference (reference/atman_reference.py, whose image
// embeddings are llava_onevision_reference.py's; the C++-preprocessed pixel
// values are given, as the LLaVA reference tests do): factors (cosine over
// text and image embeddings) and scores, with and without prefix reuse,
// plain and correlated suppression, all layers and a subset.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "mechlens/interventions.hpp"
#include "python_requirement.hpp"
#include "tiny_llava_support.hpp"
#include "tiny_qwen2_support.hpp"  // run_reference

namespace mechlens {
namespace {

using testing::Scratch;

TEST(AtmanLlavaReference, ScoresWithAnImageAgreeWithThePythonReference) {
  MECHLENS_REQUIRE_PYTHON("torch", "numpy");
  Scratch scratch;
  tiny::TinyLlavaOptions o;
  o.text.layers = 3;
  o.seed = o.text.seed = 9;
  tiny::write_tiny_llava_onevision(scratch.path("ckpt"), o);
  const auto model = testing::load_llava(scratch.path("ckpt"));
  const EncodedInput input = testing::image_input(*model, 60, 100, {10, 20}, {30, 40, 50, 60}, 5);
  const auto T = static_cast<std::int64_t>(input.ids.size());
  const Batch single = model->make_batch({&input});
  at::NoGradGuard no_grad;
  const at::Tensor embeds = model->embed(single, nullptr);
  // Every position but the target's last (as the plugin), text and image.
  std::vector<std::int64_t> explained;
  for (std::int64_t t = 0; t + 1 < T; ++t) explained.push_back(t);
  const std::vector<std::int64_t> positions = {T - 3, T - 2};
  const std::vector<std::int64_t> targets = {input.ids[T - 2], input.ids[T - 1]};
  const at::Tensor pos = at::tensor(positions, at::kLong), ids = at::tensor(targets, at::kLong);
  struct Case {
    bool conceptual;
    std::vector<int> layers;
  };
  const std::vector<Case> cases = {{false, {}}, {true, {}}, {true, {1, 2}}};
  const double kappa = 0.3;

  nlohmann::json request;
  request["ids"] = input.ids;
  request["positions"] = positions;
  request["targets"] = targets;
  const at::Tensor pv = input.extras.at("pixel_values").to(at::kDouble).contiguous();
  const at::Tensor size = input.extras.at("image_size");
  request["image"] = {{"pixel_values", std::vector<double>(pv.data_ptr<double>(), pv.data_ptr<double>() + pv.numel())},
                      {"shape", pv.sizes().vec()},
                      {"image_size", {size[0].item<std::int64_t>(), size[1].item<std::int64_t>()}}};
  for (const Case& c : cases)
    request["cases"].push_back(
        {{"explained", explained}, {"factor", 0.1}, {"conceptual", c.conceptual}, {"kappa", kappa}, {"layers", c.layers}});
  const auto ref = testing::run_reference("atman_reference.py", scratch.path("ckpt"), request, scratch);
  ASSERT_TRUE(ref.count("clean"));

  KeyValueCache kv;
  const at::Tensor clean = clean_cross_entropy(*model, single, embeds, pos, ids, &kv);
  EXPECT_LT(testing::max_abs_diff(clean, ref.at("clean")), 1e-4);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string n = std::to_string(i);
    const at::Tensor factors = suppression_factors(embeds[0], explained, 0.1, cases[i].conceptual, kappa);
    EXPECT_LT(testing::max_abs_diff(factors, ref.at("factors_" + n)), 1e-5) << "case " << i;
    const at::Tensor plain =
        clean.unsqueeze(0) - suppressed_cross_entropy(*model, single, embeds, factors, cases[i].layers, pos, ids, 4);
    const at::Tensor reused = clean.unsqueeze(0) - suppressed_cross_entropy(*model, single, embeds, factors,
                                                                            cases[i].layers, pos, ids, 4, &kv, clean);
    EXPECT_LT(testing::max_abs_diff(plain, ref.at("score_" + n)), 1e-4) << "case " << i;
    EXPECT_LT(testing::max_abs_diff(reused, ref.at("score_" + n)), 1e-4) << "case " << i;
    // Not vacuous: the scores are far from zero, image tokens' among them.
    EXPECT_GT(ref.at("score_" + n).abs().max().item<double>(), 1e-2) << "case " << i;
    const at::Tensor image = (single.ids[0] == model->config().image_token_id).narrow(0, 0, T - 1);
    EXPECT_GT(ref.at("score_" + n).index({image}).abs().max().item<double>(), 1e-3) << "case " << i;
    if (cases[i].conceptual) {  // kappa 0.3 co-suppresses more than the explained tokens
      EXPECT_GT((factors != 1.0f).sum().item<std::int64_t>(), static_cast<std::int64_t>(explained.size()));
    }
  }
}

}  // namespace
}  // namespace mechlens
