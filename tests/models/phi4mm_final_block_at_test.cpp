// Phi-4-mm's final block at the answer positions only
// (Phi4mmDecoder::run_blocks_at, models/final_block_at.hpp, issue 14): the
// logits equal the full forward's gathered at the positions from every
// layer — partial rotary, LongRoPE's short and long factors (the forward's
// length picks them), a mixed batch whose image rows run the vision LoRA,
// right padding — and a hook inside the final block sees every position
// (hooks in its attention alone: the block narrows after hook_z).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "models/final_block_at.hpp"
#include "final_block_at_support.hpp"
#include "phi4mm_support.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

class Phi4mmFinalBlockAt : public ::testing::Test {
 protected:
  void SetUp() override {
    tiny::TinyPhi4mmOptions o;
    o.layers = 3;
    o.seed = 4;
    model = testing::tiny_phi4mm(scratch, "ckpt", o);
  }
  // Text ids (below the added tokens) [rows, length], row 1 right-padded by 3.
  testing::PhiBatch batch(std::int64_t rows, std::int64_t length, const std::vector<bool>& image) const {
    at::manual_seed(length);
    const at::Tensor ids =
        at::randint(0, static_cast<std::int64_t>(model->chat_tokens().user) - 20, {rows, length}, at::kLong);
    at::Tensor mask = at::ones({rows, length}, at::kBool);
    if (rows > 1) mask[1].narrow(0, length - 3, 3).fill_(false);
    return testing::phi_batch(ids, mask, image);
  }
  Scratch scratch;
  std::unique_ptr<models::phi4mm::Phi4mmModel> model;
};

TEST_F(Phi4mmFinalBlockAt, EqualsTheFullForwardShortAndLongRope) {
  ASSERT_NE(dynamic_cast<const models::FinalBlockAtPositions*>(model.get()), nullptr);
  // 12 positions: LongRoPE's short factors; 40 (> original 32): the long ones.
  for (const std::int64_t T : {12, 40}) {
    const auto single = batch(1, T, {true});
    testing::expect_narrowed_equals_full_forward(*model, single.batch, at::tensor({T - 1}, at::kLong), "last, T " + std::to_string(T));
    testing::expect_narrowed_equals_full_forward(*model, single.batch, at::tensor({T / 2}, at::kLong), "middle, T " + std::to_string(T));
    // Mixed LoRA rows and padding (row 1 ends 3 early: T - 2 is one of its pads).
    const auto mixed = batch(3, T, {true, false, true});
    testing::expect_narrowed_equals_full_forward(*model, mixed.batch, at::tensor({std::int64_t{3}, T - 2}, at::kLong),
                               "mixed padded batch, T " + std::to_string(T));
  }
}

TEST_F(Phi4mmFinalBlockAt, NarrowedRowsAndHookFallback) {
  at::NoGradGuard no_grad;
  const auto b = batch(2, 12, {false, true});
  const at::Tensor positions = at::tensor({std::int64_t{5}, std::int64_t{8}}, at::kLong);
  const at::Tensor embeds = model->embed(b.batch, nullptr);
  // The narrowed path: P rows out, hook_resid_pre whole.
  std::vector<std::int64_t> pre, mlp;
  HookSet at_pre;
  at_pre.add_read("blocks.2.hook_resid_pre", [&](const std::string&, const at::Tensor& v) { pre.push_back(v.size(1)); });
  const at::Tensor rows = model->run_blocks_at(embeds, b.batch, 0, positions, &at_pre);
  EXPECT_EQ(rows.sizes(), (std::vector<std::int64_t>{2, 2, model->geometry().d_model}));
  EXPECT_EQ(pre, (std::vector<std::int64_t>{12}));
  // A write hook past the final block's attention: every position runs and the hook's edit counts.
  HookSet inside;
  inside.add_write("blocks.2.hook_mlp_out", [&](const std::string&, const at::Tensor& v) {
    mlp.push_back(v.size(1));
    return v * 0.5;
  });
  const at::Tensor hooked = models::forward_from_at(*model, 0, embeds, b.batch, &inside, positions);
  EXPECT_EQ(mlp, (std::vector<std::int64_t>{12}));
  EXPECT_LT(testing::max_abs_diff(hooked, model->forward_from(0, embeds, b.batch, &inside, positions)), 1e-5);
  EXPECT_GT(testing::max_abs_diff(hooked, model->forward_from(0, embeds, b.batch, nullptr, positions)), 1e-4);
}

TEST_F(Phi4mmFinalBlockAt, FinalLayerAblationsNarrowAfterHookZ) {
  const auto text = batch(1, 12, {false});
  testing::expect_attention_hooks_narrow_after_z(*model, text.batch, at::tensor({std::int64_t{11}}, at::kLong), "text");
  const auto image = batch(1, 12, {true});  // the vision LoRA on
  testing::expect_attention_hooks_narrow_after_z(*model, image.batch, at::tensor({std::int64_t{4}, std::int64_t{11}}, at::kLong),
                                                 "image row");
  const auto mixed = batch(2, 12, {false, true});  // row 1 right-padded, with the LoRA
  testing::expect_attention_hooks_narrow_after_z(*model, mixed.batch, at::tensor({std::int64_t{8}, std::int64_t{5}}, at::kLong),
                                                 "mixed padded batch");
}

}  // namespace
}  // namespace mechlens
