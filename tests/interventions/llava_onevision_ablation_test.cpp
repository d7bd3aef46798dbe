// Batched head ablations on the LLaVA-OneVision adapter (Qwen2 decoder with
// grouped-query attention, an image in the prompt): row b of one forward
// equals a separate forward with only row b's ablation, and the prefix-reuse
// sweep (ablate_each_head from a cached residual) equals that too.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "mechlens/interventions.hpp"
#include "tiny_llava_support.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

TEST(LlavaOnevisionAblations, BatchedAndSweptRowsEqualSeparateForwards) {
  Scratch scratch;
  tiny::TinyLlavaOptions o;
  o.text.layers = 3;
  o.seed = 4;
  o.text.seed = 4;
  tiny::write_tiny_llava_onevision(scratch.path("ckpt"), o);
  const auto model = testing::load_llava(scratch.path("ckpt"));
  const EncodedInput input = testing::image_input(*model, 60, 100, {10, 20}, {30, 40, 50}, 3);
  const Batch single = model->make_batch({&input});
  const Geometry g = model->geometry();
  ASSERT_LT(g.n_kv_heads, g.n_heads);  // the grouped case
  const at::Tensor last = at::tensor(std::vector<std::int64_t>{input.answer_position}, at::kLong);
  const CleanRun clean = capture_resid_pre(*model, single, last);

  for (HeadAblation kind : {HeadAblation::zero, HeadAblation::identity, HeadAblation::mean}) {
    const std::vector<std::optional<LayerHead>> rows = {std::nullopt, LayerHead{0, 1}, LayerHead{1, 3}, LayerHead{2, 2}};
    HookSet batched_hooks;
    add_head_ablations(batched_hooks, g, rows, kind, single.attention_mask);
    const at::Tensor batched = model->forward(single, &batched_hooks, last);  // batch 1 → 4 at the first hook
    ASSERT_EQ(batched.size(0), 4);
    for (std::size_t b = 0; b < rows.size(); ++b) {
      HookSet one;
      if (rows[b]) add_head_ablations(one, g, {rows[b]}, kind, single.attention_mask);
      const at::Tensor separate = model->forward(single, &one, last);
      EXPECT_LT(testing::max_abs_diff(batched[b], separate[0]), 1e-5) << to_string(kind) << " row " << b;
      if (rows[b]) { EXPECT_GT(testing::max_abs_diff(separate, clean.logits), 1e-5) << to_string(kind) << " row " << b; }
    }
    // The sweep over one layer from its cached residual.
    const int layer = 1;
    const at::Tensor swept = ablate_each_head(*model, single, clean.resid_pre[layer], layer, kind, last);
    ASSERT_EQ(swept.size(0), g.n_heads);
    for (int h = 0; h < g.n_heads; ++h) {
      HookSet one;
      add_head_ablations(one, g, {LayerHead{layer, h}}, kind, single.attention_mask);
      EXPECT_LT(testing::max_abs_diff(swept[h], model->forward(single, &one, last)[0]), 1e-5) << to_string(kind) << " head " << h;
    }
  }
}

}  // namespace
}  // namespace mechlens
