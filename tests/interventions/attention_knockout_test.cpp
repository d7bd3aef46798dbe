// Attention knockout (seed 004) on the LLaVA-OneVision adapter (Qwen2 with
// grouped-query attention, an image in the prompt): an empty edge set changes
// nothing, bit for bit; a blocked edge has weight exactly 0 in hook_pattern in
// float32 and bfloat16; a query row whose every key is blocked attends to
// nothing (an all-zero pattern row, as attention.cpp treats fully masked
// rows: its head output is 0 there); batched rows equal separate runs, and a
// forward resumed at the window's first layer equals the full forward.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "mechlens/interventions.hpp"
#include "tiny_llava_support.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

class AttentionKnockout : public ::testing::Test {
 protected:
  void SetUp() override {
    tiny::TinyLlavaOptions o;
    o.text.layers = 3;
    o.seed = 5;
    o.text.seed = 5;
    tiny::write_tiny_llava_onevision(scratch.path("ckpt"), o);
  }
  Scratch scratch;
};

at::Tensor pattern_of(const HookSet& hooks, int layer) {
  return hooks.cached().at("blocks." + std::to_string(layer) + ".attn.hook_pattern");
}

TEST_F(AttentionKnockout, EmptyEdgeSetIsBitIdentical) {
  const auto model = testing::load_llava(scratch.path("ckpt"));
  const EncodedInput input = testing::image_input(*model, 60, 100, {10, 20}, {30, 40, 50}, 3);
  const Batch batch = model->make_batch({&input});
  const at::Tensor clean = model->forward(batch, nullptr);
  for (const std::optional<KnockoutRow>& row :
       {std::optional<KnockoutRow>{KnockoutRow{0, 2, {}, {1, 2, 3}}}, std::optional<KnockoutRow>{KnockoutRow{0, 2, {5}, {}}},
        std::optional<KnockoutRow>{}}) {
    HookSet hooks;
    add_attention_knockout(hooks, model->geometry(), {row});
    EXPECT_TRUE(at::equal(model->forward(batch, &hooks), clean));
  }
  // The mask hook itself listening (every entry kept) changes nothing either.
  HookSet listening;
  listening.add_write("blocks.*.attn.hook_attn_mask", [](const std::string&, const at::Tensor& m) { return m; });
  EXPECT_TRUE(at::equal(model->forward(batch, &listening), clean));
}

TEST_F(AttentionKnockout, BlockedEdgesWeighExactlyZeroInFloat32AndBfloat16) {
  for (const char* dtype : {"float32", "bfloat16"}) {
    const auto model = testing::load_llava(scratch.path("ckpt"), dtype);
    const EncodedInput input = testing::image_input(*model, 60, 100, {10, 20}, {30, 40, 50}, 3);
    const Batch batch = model->make_batch({&input});
    const std::int64_t last = input.answer_position;
    const std::vector<std::int64_t> keys = {2, 3, 4, 7, 11};
    HookSet clean_hooks, hooks;
    clean_hooks.cache("blocks.*.attn.hook_pattern");
    hooks.cache("blocks.*.attn.hook_pattern");
    add_attention_knockout(hooks, model->geometry(), {KnockoutRow{1, 2, {last, last - 1}, keys}});
    model->forward(batch, &clean_hooks);
    const at::Tensor out = model->forward(batch, &hooks);
    EXPECT_TRUE(at::isfinite(out).all().item<bool>()) << dtype;
    for (int layer = 0; layer < 3; ++layer) {
      const at::Tensor p = pattern_of(hooks, layer).to(at::kFloat), c = pattern_of(clean_hooks, layer).to(at::kFloat);
      for (std::int64_t q : {last, last - 1})
        for (std::int64_t k : keys) {
          const at::Tensor w = p[0].select(1, q).select(1, k);  // [heads]
          if (layer == 0) {
            EXPECT_TRUE(at::equal(w, c[0].select(1, q).select(1, k))) << dtype << " layer 0 is outside the window";
            EXPECT_GT(w.min().item<float>(), 0.0f) << dtype;
          } else {
            EXPECT_EQ(w.abs().max().item<float>(), 0.0f) << dtype << " layer " << layer << " q " << q << " k " << k;
          }
        }
      // Each kept row still sums to 1.
      if (layer > 0) { EXPECT_LT((p[0].select(1, last).sum(-1) - 1).abs().max().item<float>(), 2e-2) << dtype; }
    }
  }
}

TEST_F(AttentionKnockout, AFullyBlockedQueryRowAttendsToNothing) {
  const auto model = testing::load_llava(scratch.path("ckpt"));
  const EncodedInput input = testing::image_input(*model, 60, 100, {10, 20}, {30, 40, 50}, 3);
  const Batch batch = model->make_batch({&input});
  const std::int64_t T = static_cast<std::int64_t>(input.ids.size()), last = input.answer_position;
  std::vector<std::int64_t> every_key(T);
  for (std::int64_t k = 0; k < T; ++k) every_key[k] = k;
  HookSet hooks;
  hooks.cache("blocks.1.attn.hook_pattern");
  hooks.cache("blocks.1.attn.hook_z");
  add_attention_knockout(hooks, model->geometry(), {KnockoutRow{1, 1, {last}, every_key}});
  const at::Tensor out = model->forward(batch, &hooks);
  EXPECT_TRUE(at::isfinite(out).all().item<bool>());
  EXPECT_EQ(pattern_of(hooks, 1)[0].select(1, last).abs().max().item<float>(), 0.0f);
  EXPECT_EQ(hooks.cached().at("blocks.1.attn.hook_z")[0][last].abs().max().item<float>(), 0.0f);
  EXPECT_GT(pattern_of(hooks, 1)[0].select(1, last - 1).sum().item<float>(), 0.5f);  // other rows untouched
}

TEST_F(AttentionKnockout, BatchedRowsAndResumedWindowsEqualSeparateRuns) {
  const auto model = testing::load_llava(scratch.path("ckpt"));
  const EncodedInput input = testing::image_input(*model, 60, 100, {10, 20}, {30, 40, 50}, 3);
  const Batch batch = model->make_batch({&input});
  const Geometry g = model->geometry();
  const std::int64_t last = input.answer_position;
  const at::Tensor answer = at::tensor(std::vector<std::int64_t>{last}, at::kLong);
  std::vector<std::int64_t> image;
  for (std::int64_t k = 2; k < last - 3; ++k) image.push_back(k);
  const std::vector<std::int64_t> half(image.begin(), image.begin() + static_cast<long>(image.size() / 2));
  const std::vector<std::optional<KnockoutRow>> rows = {
      std::nullopt, KnockoutRow{1, 2, {last}, image}, KnockoutRow{1, 2, {last}, half}, KnockoutRow{1, 1, {last, last - 1}, image},
      KnockoutRow{1, 2, {}, image}};
  const CleanRun clean = capture_resid_pre(*model, batch, answer);
  HookSet hooks;
  add_attention_knockout(hooks, g, rows);
  const at::Tensor batched = model->forward(batch, &hooks, answer);
  HookSet resumed_hooks;
  add_attention_knockout(resumed_hooks, g, rows);
  const at::Tensor resumed = model->forward_from(1, clean.resid_pre[1], batch, &resumed_hooks, answer);
  ASSERT_EQ(batched.size(0), 5);
  ASSERT_EQ(resumed.size(0), 5);
  for (std::size_t b = 0; b < rows.size(); ++b) {
    HookSet one;
    add_attention_knockout(one, g, {rows[b]});
    const at::Tensor separate = model->forward(batch, &one, answer);
    EXPECT_LT(testing::max_abs_diff(batched[b], separate[0]), 1e-5) << "row " << b;
    EXPECT_LT(testing::max_abs_diff(resumed[b], separate[0]), 1e-5) << "row " << b;
    const bool blocks = rows[b] && !rows[b]->queries.empty();
    EXPECT_EQ(testing::max_abs_diff(separate, clean.logits) > 1e-6, blocks) << "row " << b;
  }
}

TEST_F(AttentionKnockout, WindowsOutsideTheModelAreRefused) {
  const auto model = testing::load_llava(scratch.path("ckpt"));
  HookSet hooks;
  EXPECT_THROW(add_attention_knockout(hooks, model->geometry(), {KnockoutRow{2, 3, {1}, {0}}}), std::exception);
  EXPECT_THROW(add_attention_knockout(hooks, model->geometry(), {KnockoutRow{2, 1, {1}, {0}}}), std::exception);
}

}  // namespace
}  // namespace mechlens
