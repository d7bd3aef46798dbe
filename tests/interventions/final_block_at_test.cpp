// The final block at the answer positions only (models/final_block_at.hpp,
// issue 14): the same logits as the full forward gathered at those
// positions, from every layer on, and hooks keep their contract (a hook on
// the final block sees every position; past its attention the whole block
// runs at every position, in the attention alone it narrows after hook_z).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "mechlens/interventions.hpp"
#include "models/final_block_at.hpp"
#include "final_block_at_support.hpp"
#include "tiny_bert_support.hpp"

namespace mechlens {
namespace {

class FinalBlockAt : public ::testing::Test {
 protected:
  void SetUp() override {
    tiny::TinyBertOptions o;
    o.layers = 3;
    o.heads = 4;
    o.d_model = 32;
    o.seed = 5;
    model = testing::tiny_bert(scratch, o, "ckpt", "float64");
  }
  testing::Scratch scratch;
  std::unique_ptr<models::bert::BertModel> model;
};

TEST_F(FinalBlockAt, EqualsTheFullForwardAtThePositionsFromEveryLayer) {
  const auto p = testing::prompts(*model, {"where is the [MASK] dog ?"});
  const std::int64_t answer = p.encoded[0].answer_position;
  // Positions in any order, repeated ones too.
  const at::Tensor positions = at::tensor({answer, std::int64_t{0}, answer}, at::kLong);
  const CleanRun run = capture_resid_pre(*model, p.batch);
  for (int layer = 0; layer <= 3; ++layer) {
    const at::Tensor residual = layer < 3 ? run.resid_pre[layer] : model->run_blocks(run.resid_pre[0], p.batch, 0, 3, nullptr);
    const at::Tensor full = model->forward_from(layer, residual, p.batch, nullptr, positions);
    const at::Tensor narrow = models::forward_from_at(*model, layer, residual, p.batch, nullptr, positions);
    ASSERT_EQ(narrow.sizes(), full.sizes()) << "layer " << layer;
    EXPECT_LT(testing::max_abs_diff(narrow, full), 1e-10) << "layer " << layer;
  }
  // The narrowed path really ran: the final block's output has P rows, not T.
  const at::Tensor rows = model->run_blocks_at(run.resid_pre[1], p.batch, 1, positions, nullptr);
  EXPECT_EQ(rows.sizes(), (std::vector<std::int64_t>{1, 3, model->geometry().d_model}));
}

TEST_F(FinalBlockAt, HooksOnTheFinalBlockSeeEveryPosition) {
  const auto p = testing::prompts(*model, {"the dog [MASK] ."});
  const std::int64_t length = p.batch.ids.size(1);
  const at::Tensor answer = at::tensor({p.encoded[0].answer_position}, at::kLong);
  std::vector<std::int64_t> seen_pre, seen_mlp;
  HookSet hooks;
  hooks.add_read("blocks.2.hook_resid_pre", [&](const std::string&, const at::Tensor& v) { seen_pre.push_back(v.size(1)); });
  const at::Tensor with_pre = models::forward_from_at(*model, 0, model->embed(p.batch, nullptr), p.batch, &hooks, answer);
  EXPECT_EQ(seen_pre, (std::vector<std::int64_t>{length}));  // resid_pre is whole on the narrowed path too
  hooks.add_read("blocks.2.hook_mlp_out", [&](const std::string&, const at::Tensor& v) { seen_mlp.push_back(v.size(1)); });
  const at::Tensor with_mlp = models::forward_from_at(*model, 0, model->embed(p.batch, nullptr), p.batch, &hooks, answer);
  EXPECT_EQ(seen_mlp, (std::vector<std::int64_t>{length}));  // a hook past the block's attention: every position runs
  EXPECT_LT(testing::max_abs_diff(with_pre, with_mlp), 1e-10);
  EXPECT_LT(testing::max_abs_diff(with_pre, model->forward(p.batch, nullptr, answer)), 1e-10);
}

TEST_F(FinalBlockAt, FinalLayerAblationsNarrowAfterHookZ) {
  const auto p = testing::prompts(*model, {"where is the [MASK] dog ?"});
  const std::int64_t answer = p.encoded[0].answer_position;
  testing::expect_attention_hooks_narrow_after_z(*model, p.batch, at::tensor({answer}, at::kLong), "answer");
  testing::expect_attention_hooks_narrow_after_z(*model, p.batch, at::tensor({answer, std::int64_t{0}}, at::kLong), "two");
}

}  // namespace
}  // namespace mechlens
