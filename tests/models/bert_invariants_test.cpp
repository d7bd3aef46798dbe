// Properties any correct encoder has, whatever its weights: right padding
// does not change real positions, rows of a batch do not see each other,
// and resuming from a cached residual equals the full forward.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tiny_bert_support.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

TEST(BertInvariants, PaddingDoesNotChangeRealPositions) {
  Scratch scratch;
  auto model = testing::tiny_bert(scratch);
  const auto alone = testing::prompts(*model, {"a cat"});
  const auto padded = testing::prompts(*model, {"a cat", "the old man saw a big red car in the city"});
  const auto n = static_cast<std::int64_t>(alone.encoded[0].ids.size());
  ASSERT_GT(padded.batch.ids.size(1), n + 5);
  const at::Tensor a = model->forward(alone.batch, nullptr);
  const at::Tensor b = model->forward(padded.batch, nullptr).narrow(0, 0, 1).narrow(1, 0, n);
  EXPECT_LT(testing::rel_diff(a, b), 1e-5);
  // Changing the padded tokens' ids does not matter either.
  Batch other = padded.batch;
  other.ids = padded.batch.ids.clone();
  other.ids[0].narrow(0, n, other.ids.size(1) - n).fill_(7);
  EXPECT_LT(testing::rel_diff(model->forward(other, nullptr).narrow(0, 0, 1).narrow(1, 0, n), a), 1e-5);
  // Whereas unmasking the padding does change them (the check has teeth).
  other.attention_mask = at::ones_like(padded.batch.attention_mask);
  EXPECT_GT(testing::max_abs_diff(model->forward(other, nullptr).narrow(0, 0, 1).narrow(1, 0, n), a), 1e-3);
}

TEST(BertInvariants, BatchRowsAreIndependent) {
  Scratch scratch;
  auto model = testing::tiny_bert(scratch);
  const std::vector<std::string> texts = {"the dog [MASK] .", "where is paris ?", "i think you are very good"};
  const auto batch = testing::prompts(*model, texts);
  const at::Tensor all = model->forward(batch.batch, nullptr);
  for (std::size_t b = 0; b < texts.size(); ++b) {
    const auto single = testing::prompts(*model, {texts[b]});
    const auto n = single.batch.ids.size(1);
    const at::Tensor row = all.narrow(0, b, 1).narrow(1, 0, n);
    EXPECT_LT(testing::rel_diff(row, model->forward(single.batch, nullptr)), 1e-5) << "row " << b;
  }
}

TEST(BertInvariants, ForwardFromCachedResidualEqualsForward) {
  Scratch scratch;
  tiny::TinyBertOptions o;
  o.layers = 3;
  auto model = testing::tiny_bert(scratch, o);
  const auto p = testing::prompts(*model, {"the dog [MASK] .", "a cat"});
  const at::Tensor full = model->forward(p.batch, nullptr);
  at::Tensor resid = model->embed(p.batch, nullptr);
  for (int layer = 0; layer <= 3; ++layer) {
    EXPECT_LT(testing::rel_diff(model->forward_from(layer, resid, p.batch, nullptr), full), 1e-5) << layer;
    if (layer < 3) resid = model->run_blocks(resid, p.batch, layer, layer + 1, nullptr);
  }
  // Positions: logits only where asked.
  const at::Tensor at_mask = model->forward(p.batch, nullptr, at::tensor({3, 0}, at::kLong));
  ASSERT_EQ(at_mask.sizes(), (std::vector<std::int64_t>{2, 2, full.size(2)}));
  EXPECT_LT(testing::rel_diff(at_mask.select(1, 0), full.select(1, 3)), 1e-6);
  EXPECT_LT(testing::rel_diff(at_mask.select(1, 1), full.select(1, 0)), 1e-6);
}

TEST(BertInvariants, BatchOneResidualBroadcastsOverExpandedBatch) {
  // A write hook that expands batch 1 → 3 at hook_z: every later op must
  // broadcast (residual add, norms, later layers with a [1, T] mask).
  Scratch scratch;
  auto model = testing::tiny_bert(scratch);
  const auto p = testing::prompts(*model, {"the dog [MASK] ."});
  const at::Tensor clean = model->forward(p.batch, nullptr);
  HookSet hooks;
  hooks.add_write("blocks.0.attn.hook_z", [](const std::string&, const at::Tensor& z) {
    at::Tensor out = z.expand({3, z.size(1), z.size(2), z.size(3)}).clone();
    out[1].zero_();
    return out;
  });
  const at::Tensor expanded = model->forward(p.batch, &hooks);
  ASSERT_EQ(expanded.size(0), 3);
  EXPECT_LT(testing::rel_diff(expanded[0], clean[0]), 1e-5);
  EXPECT_LT(testing::rel_diff(expanded[2], clean[0]), 1e-5);
  EXPECT_GT(testing::max_abs_diff(expanded[1], clean[0]), 1e-3);
}

}  // namespace
}  // namespace mechlens
