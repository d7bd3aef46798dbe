// Prefix reuse (Model::run_blocks_reusing, layers::CausalPass) on tiny Qwen2
// and LLaVA-OneVision (an image in the prompt): a run of positions [s, T)
// from the recorded keys/values equals the full forward there; AtMan's
// suppressed cross-entropy with reuse equals it without (correlated
// suppression reaching before the explained token included), costs fewer
// forward-equivalents, and keeps the row minimum over the whole raw row.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "mechlens/interventions.hpp"
#include "models/registry.hpp"
#include "tiny_llava_support.hpp"
#include "tiny_qwen2_support.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

EncodedInput text_input(const Model& model, std::vector<std::int64_t> ids) {
  EncodedInput in;
  in.spec.id = "text";
  in.ids = std::move(ids);
  for (std::int64_t id : in.ids) {
    in.tokens.push_back(model.token_string(id));
    in.annotations.push_back(TokenAnnotation{Modality::text});
  }
  in.answer_position = static_cast<std::int64_t>(in.ids.size()) - 1;
  return in;
}

// The full forward's residual at positions [s, T) equals a run of those
// positions only, from the keys/values recorded by a start-0 run.
void expect_runs_match(const Model& model, const EncodedInput& input, const std::vector<std::int64_t>& starts) {
  ASSERT_TRUE(model.reuses_prefix());
  const Batch single = model.make_batch({&input});
  at::NoGradGuard no_grad;
  const at::Tensor embeds = model.embed(single, nullptr);
  const int L = model.geometry().n_layers;
  const at::Tensor full = model.run_blocks(embeds, single, 0, L, nullptr);
  KeyValueCache cache;
  PrefixReuse record;
  record.record = &cache;
  const at::Tensor recorded = model.run_blocks_reusing(embeds, single, 0, L, nullptr, record);
  EXPECT_TRUE(at::equal(recorded, full));  // the same operations: bit for bit
  ASSERT_EQ(cache.keys.size(), static_cast<std::size_t>(L));
  const std::int64_t T = embeds.size(1);
  for (std::int64_t s : starts) {
    PrefixReuse reuse;
    reuse.start = s;
    reuse.prefix = &cache;
    std::vector<std::int64_t> score_shape;
    HookSet hooks;
    hooks.add_read("blocks.0.attn.hook_attn_scores_unmasked",
                   [&](const std::string&, const at::Tensor& v) { score_shape = v.sizes().vec(); });
    const at::Tensor part = model.run_blocks_reusing(embeds.narrow(1, s, T - s), single, 0, L, &hooks, reuse);
    ASSERT_EQ(part.size(1), T - s);
    EXPECT_LT(testing::max_abs_diff(part, full.narrow(1, s, T - s)), 1e-5) << "start " << s;
    // The run's queries against every key: whole raw rows.
    const auto H = model.geometry().n_heads;
    EXPECT_EQ(score_shape, (std::vector<std::int64_t>{1, H, T - s, T})) << "start " << s;
  }
}

struct Counts {
  std::int64_t forwards = 0, short_forwards = 0;
};

// AtMan's cross-entropy with and without reuse, and what the reused run did.
// `saves`: the plan must cost under 0.8 of the full forwards (not so when
// one chunk holds every row, or correlated suppression reaches the start).
void expect_atman_reuse_matches(const Model& model, const EncodedInput& input, const at::Tensor& positions,
                                const at::Tensor& ids, const at::Tensor& factors, std::int64_t max_batch, bool saves) {
  const Batch single = model.make_batch({&input});
  at::NoGradGuard no_grad;
  const at::Tensor embeds = model.embed(single, nullptr);
  KeyValueCache kv;
  const at::Tensor clean = clean_cross_entropy(model, single, embeds, positions, ids, &kv);
  EXPECT_LT(testing::max_abs_diff(clean, clean_cross_entropy(model, single, embeds, positions, ids)), 1e-12);
  const at::Tensor plain = suppressed_cross_entropy(model, single, embeds, factors, {}, positions, ids, max_batch);
  const at::Tensor reused =
      suppressed_cross_entropy(model, single, embeds, factors, {}, positions, ids, max_batch, &kv, clean);
  EXPECT_LT(testing::max_abs_diff(reused, plain), 1e-5);
  // Not vacuous: the suppressions move the cross-entropy.
  EXPECT_GT(testing::max_abs_diff(plain, clean.unsqueeze(0).expand_as(plain)), 1e-3);
  const double without = suppression_forwards(factors, positions, max_batch, false);
  const double with = suppression_forwards(factors, positions, max_batch, true);
  EXPECT_DOUBLE_EQ(without, static_cast<double>((factors != 1.0f).any(1).sum().item<std::int64_t>()));
  EXPECT_LE(with, without);
  if (saves) { EXPECT_LT(with, 0.8 * without); }
  if (max_batch == 1) {  // one row per forward: each runs from its own first suppressed key
    const auto T = static_cast<double>(factors.size(1));
    const at::Tensor first = (factors != 1.0f).to(at::kInt).argmax(1).to(at::kDouble);
    EXPECT_NEAR(with, ((T - first) / T).sum().item<double>(), 1e-9);
  }
  std::cout << "[ reuse    ] " << factors.size(0) << " rows over " << factors.size(1)
            << " positions, max_batch " << max_batch << ": " << without << " forward-equivalents without reuse, "
            << with << " with it\n";
}

TEST(PrefixReuse, Qwen2RunOfTheLaterPositionsEqualsTheFullForward) {
  Scratch scratch;
  tiny::TinyQwen2Options o;
  o.layers = 3;
  o.seed = 11;
  tiny::write_tiny_qwen2(scratch.path("qwen2"), o);
  const auto model = models::load("qwen2", {scratch.path("qwen2"), "float32", "cpu"});
  expect_runs_match(*model, text_input(*model, {5, 17, 23, 40, 8, 31, 23, 12, 50, 9}), {1, 4, 9});
}

TEST(PrefixReuse, LlavaRunOfTheLaterPositionsEqualsTheFullForward) {
  Scratch scratch;
  tiny::TinyLlavaOptions o;
  o.text.layers = 3;
  o.seed = o.text.seed = 5;
  tiny::write_tiny_llava_onevision(scratch.path("ckpt"), o);
  const auto model = testing::load_llava(scratch.path("ckpt"));
  const EncodedInput input = testing::image_input(*model, 60, 100, {10, 20}, {30, 40, 50}, 3);
  const auto T = static_cast<std::int64_t>(input.ids.size());
  expect_runs_match(*model, input, {2, T / 2, T - 2});  // inside the image, and after it
}

TEST(PrefixReuse, Qwen2AtmanWithReuseEqualsWithout) {
  Scratch scratch;
  tiny::TinyQwen2Options o;
  o.layers = 3;
  o.seed = 7;
  tiny::write_tiny_qwen2(scratch.path("qwen2"), o);
  const auto model = models::load("qwen2", {scratch.path("qwen2"), "float32", "cpu"});
  const EncodedInput input = text_input(*model, {5, 17, 23, 40, 8, 31, 23, 12, 50, 9, 44, 61, 23, 7});
  const auto T = static_cast<std::int64_t>(input.ids.size());
  std::vector<std::int64_t> explained;
  for (std::int64_t t = 0; t + 1 < T; ++t) explained.push_back(t);
  // Target: the last three tokens, read at T-4..T-2.
  const at::Tensor positions = at::tensor(std::vector<std::int64_t>{T - 4, T - 3, T - 2}, at::kLong);
  const at::Tensor ids = at::tensor(std::vector<std::int64_t>{input.ids[T - 3], input.ids[T - 2], input.ids[T - 1]});
  const Batch single = model->make_batch({&input});
  at::NoGradGuard no_grad;
  const at::Tensor embeds = model->embed(single, nullptr);
  // Correlated suppression of a repeated id (23 at 2, 6, 12) reaches before the explained token.
  const at::Tensor factors = suppression_factors(embeds[0], explained, 0.1, true, 0.6);
  ASSERT_LT(factors[12].ne(1.0f).to(at::kInt).argmax().item<std::int64_t>(), 12);
  for (std::int64_t max_batch : {1, 3, 64})
    expect_atman_reuse_matches(*model, input, positions, ids, factors, max_batch, max_batch < 64);

  // With reuse the row minimum still spans the whole raw row: the edit by
  // hand with the minimum over the causally allowed keys only differs.
  const std::int64_t key = 8;
  const at::Tensor one = suppression_factors(embeds[0], {key}, 0.1, false, 0.6);
  KeyValueCache kv;
  const at::Tensor clean = clean_cross_entropy(*model, single, embeds, positions, ids, &kv);
  const at::Tensor reused = suppressed_cross_entropy(*model, single, embeds, one, {}, positions, ids, 1, &kv, clean)[0];
  HookSet causal_min;
  causal_min.add_write("blocks.*.attn.hook_attn_scores_unmasked", [=](const std::string&, const at::Tensor& s) {
    const auto n = s.size(-1);
    const at::Tensor future = at::ones({n, n}, at::kBool).triu(1);
    at::Tensor out = s - std::get<0>(s.masked_fill(future, INFINITY).min(-1, true));
    out.select(-1, key).mul_(0.1);
    return out;
  });
  const at::Tensor causal = -at::log_softmax(model->forward_from(0, embeds, single, &causal_min, positions).to(at::kDouble), -1)[0]
                                 .gather(1, ids.view({-1, 1}))
                                 .squeeze(1);
  EXPECT_GT(testing::max_abs_diff(reused, causal), 1e-4);
  EXPECT_LT(testing::max_abs_diff(
                reused, suppressed_cross_entropy(*model, single, embeds, one, {}, positions, ids, 1)[0]),
            1e-6);
}

TEST(PrefixReuse, LlavaAtmanWithReuseEqualsWithout) {
  Scratch scratch;
  tiny::TinyLlavaOptions o;
  o.text.layers = 3;
  o.seed = o.text.seed = 6;
  tiny::write_tiny_llava_onevision(scratch.path("ckpt"), o);
  const auto model = testing::load_llava(scratch.path("ckpt"));
  const EncodedInput input = testing::image_input(*model, 60, 100, {10, 20}, {30, 40, 50, 60}, 3);
  const auto T = static_cast<std::int64_t>(input.ids.size());
  std::vector<std::int64_t> explained;
  for (std::int64_t t = 0; t + 1 < T; ++t) explained.push_back(t);
  const at::Tensor positions = at::tensor(std::vector<std::int64_t>{T - 3, T - 2}, at::kLong);
  const at::Tensor ids = at::tensor(std::vector<std::int64_t>{input.ids[T - 2], input.ids[T - 1]});
  const Batch single = model->make_batch({&input});
  at::NoGradGuard no_grad;
  const at::Tensor embeds = model->embed(single, nullptr);
  for (const bool conceptual : {false, true}) {
    const at::Tensor factors = suppression_factors(embeds[0], explained, 0.1, conceptual, 0.6);
    expect_atman_reuse_matches(*model, input, positions, ids, factors, 8, !conceptual);
  }
}

}  // namespace
}  // namespace mechlens
