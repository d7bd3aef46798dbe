// The final block at the answer positions only (models/final_block_at.hpp,
// issue 14) on the causal decoders: Qwen2 and LLaVA-OneVision's language
// model (both through Qwen2Decoder::run_blocks_at). The logits equal the full
// forward's gathered at the positions — from every layer, at the last, a
// middle (its own rotary angle and causal row) and several positions, in a
// right-padded batch, with hooks past the final block's attention (every
// position then runs), in its attention alone (it narrows after hook_z) and
// with a write hook fanning the batch out at hook_z (the head-ablation
// sweep) — and the narrowed path really skips the work.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "mechlens/interventions.hpp"
#include "models/final_block_at.hpp"
#include "models/registry.hpp"
#include "final_block_at_support.hpp"
#include "linear_rows.hpp"
#include "tiny_llava_support.hpp"
#include "tiny_qwen2_support.hpp"

namespace mechlens {
namespace {

using testing::LinearRows;
using testing::Scratch;

EncodedInput ids_input(std::vector<std::int64_t> ids) {
  EncodedInput in;
  in.spec.id = "ids";
  in.ids = std::move(ids);
  in.answer_position = static_cast<std::int64_t>(in.ids.size()) - 1;
  return in;
}

at::Tensor positions_of(std::vector<std::int64_t> p) { return at::tensor(p, at::kLong); }

// The final block alone (first = last layer): only k_proj and v_proj run
// over all T positions; q, o, gate, up, down over the P asked for. With a
// hook past the block's attention every projection runs over T (and the
// hook sees T).
void expect_narrowed_path_taken(const Model& model, const Batch& batch, const at::Tensor& positions) {
  at::NoGradGuard no_grad;
  const auto* narrow = dynamic_cast<const models::FinalBlockAtPositions*>(&model);
  ASSERT_NE(narrow, nullptr);
  const int last = model.geometry().n_layers - 1;
  const at::Tensor residual = model.run_blocks(model.embed(batch, nullptr), batch, 0, last, nullptr);
  const std::int64_t T = residual.size(1), P = positions.size(0);
  ASSERT_NE(T, P);
  std::vector<std::int64_t> pre_seen, mlp_seen;
  HookSet pre;
  pre.add_read("blocks." + std::to_string(last) + ".hook_resid_pre",
               [&](const std::string&, const at::Tensor& v) { pre_seen.push_back(v.size(1)); });
  std::vector<std::int64_t> rows;
  {
    LinearRows count;
    narrow->run_blocks_at(residual, batch, last, positions, &pre);
    rows = count.rows();
  }
  EXPECT_EQ(rows, (std::vector<std::int64_t>{P, T, T, P, P, P, P}));  // q k v o gate up down
  EXPECT_EQ(pre_seen, (std::vector<std::int64_t>{T}));  // hook_resid_pre stays whole

  HookSet inside;
  inside.add_read("blocks." + std::to_string(last) + ".hook_mlp_out",
                  [&](const std::string&, const at::Tensor& v) { mlp_seen.push_back(v.size(1)); });
  {
    LinearRows count;
    const at::Tensor out = narrow->run_blocks_at(residual, batch, last, positions, &inside);
    rows = count.rows();
    EXPECT_EQ(out.size(1), P);
  }
  EXPECT_EQ(rows, std::vector<std::int64_t>(7, T));
  EXPECT_EQ(mlp_seen, (std::vector<std::int64_t>{T}));
}

// Hooks in the final block, one of them past its attention (hook_attn_out):
// every position runs, the hooks see them all, and the logits are the full
// forward's.
void expect_hook_inside_final_block_falls_back(const Model& model, const Batch& batch, const at::Tensor& positions) {
  at::NoGradGuard no_grad;
  const int last = model.geometry().n_layers - 1;
  const at::Tensor embeds = model.embed(batch, nullptr);
  std::vector<std::vector<std::int64_t>> seen;
  HookSet hooks;
  hooks.add_read("blocks." + std::to_string(last) + ".attn.hook_pattern",
                 [&](const std::string&, const at::Tensor& v) { seen.push_back(v.sizes().vec()); });
  // A write hook inside the final block changes what the answer rows get.
  hooks.add_write("blocks." + std::to_string(last) + ".hook_attn_out",
                  [](const std::string&, const at::Tensor& v) { return v * 0.5; });
  const at::Tensor narrow = models::forward_from_at(model, 0, embeds, batch, &hooks, positions);
  const std::int64_t T = embeds.size(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0][2], T);
  EXPECT_EQ(seen[0][3], T);
  const at::Tensor full = model.forward_from(0, embeds, batch, &hooks, positions);
  EXPECT_LT(testing::max_abs_diff(narrow, full), 1e-5);
  EXPECT_GT(testing::max_abs_diff(narrow, model.forward_from(0, embeds, batch, nullptr, positions)), 1e-4);
}

// The sweep's fan-out: zero-ablating every head of `layer` turns batch 1
// into one row per head at hook_z; from an earlier layer the narrowed final
// block runs at that batch (and in the last layer it narrows after hook_z).
void expect_head_fan_out_matches(const Model& model, const Batch& single, const at::Tensor& positions) {
  at::NoGradGuard no_grad;
  const Geometry g = model.geometry();
  const CleanRun clean = capture_resid_pre(model, single, positions);
  EXPECT_LT(testing::max_abs_diff(clean.logits, model.forward(single, nullptr, positions)), 1e-5);
  for (int layer = 0; layer < g.n_layers; ++layer) {
    std::vector<std::optional<LayerHead>> rows;
    for (int h = 0; h < g.n_heads; ++h) rows.push_back(LayerHead{layer, h});
    HookSet hooks;
    add_head_ablations(hooks, g, rows, HeadAblation::zero, single.attention_mask);
    const at::Tensor full = model.forward_from(layer, clean.resid_pre[layer], single, &hooks, positions);
    const at::Tensor swept = ablate_each_head(model, single, clean.resid_pre[layer], layer, HeadAblation::zero, positions);
    ASSERT_EQ(swept.sizes(), full.sizes()) << "layer " << layer;
    EXPECT_EQ(swept.size(0), g.n_heads);
    EXPECT_LT(testing::max_abs_diff(swept, full), 1e-5) << "layer " << layer;
    // The heads differ from one another (the rows are not all the clean run's).
    EXPECT_GT(testing::max_abs_diff(swept[0], swept[1]), 1e-6) << "layer " << layer;
  }
}

class Qwen2FinalBlockAt : public ::testing::Test {
 protected:
  void SetUp() override {
    tiny::TinyQwen2Options o;
    o.layers = 3;
    o.seed = 13;
    tiny::write_tiny_qwen2(scratch.path("qwen2"), o);
    model = models::load("qwen2", {scratch.path("qwen2"), "float32", "cpu"});
  }
  Scratch scratch;
  std::unique_ptr<Model> model;
  EncodedInput long_input = ids_input({5, 17, 23, 40, 8, 31, 23, 12, 50, 9});
  EncodedInput short_input = ids_input({44, 3, 27, 61, 19, 6, 33});
};

TEST_F(Qwen2FinalBlockAt, EqualsTheFullForwardAtLastMiddleAndSeveralPositions) {
  const Batch single = model->make_batch({&long_input});
  testing::expect_narrowed_equals_full_forward(*model, single, positions_of({9}), "last");
  testing::expect_narrowed_equals_full_forward(*model, single, positions_of({4}), "middle");
  testing::expect_narrowed_equals_full_forward(*model, single, positions_of({7, 2}), "two, out of order");
}

TEST_F(Qwen2FinalBlockAt, EqualsTheFullForwardInARightPaddedBatch) {
  const Batch batch = model->make_batch({&long_input, &short_input});
  ASSERT_FALSE(batch.attention_mask.all().item<bool>());
  testing::expect_narrowed_equals_full_forward(*model, batch, positions_of({6}), "the short row's last");
  testing::expect_narrowed_equals_full_forward(*model, batch, positions_of({3, 9}), "middle and the long row's last (a pad of the short)");
}

TEST_F(Qwen2FinalBlockAt, NarrowedPathRunsTheAnswerRowsOnly) {
  expect_narrowed_path_taken(*model, model->make_batch({&long_input}), positions_of({4, 9}));
  expect_narrowed_path_taken(*model, model->make_batch({&long_input, &short_input}), positions_of({5}));
}

TEST_F(Qwen2FinalBlockAt, HookInsideTheFinalBlockSeesEveryPosition) {
  expect_hook_inside_final_block_falls_back(*model, model->make_batch({&long_input, &short_input}),
                                            positions_of({4, 6}));
}

TEST_F(Qwen2FinalBlockAt, HeadAblationFanOutEqualsTheFullForward) {
  expect_head_fan_out_matches(*model, model->make_batch({&long_input}), positions_of({6}));
}

TEST_F(Qwen2FinalBlockAt, FinalLayerAblationsNarrowAfterHookZ) {
  testing::expect_attention_hooks_narrow_after_z(*model, model->make_batch({&long_input}), positions_of({9}), "last");
  testing::expect_attention_hooks_narrow_after_z(*model, model->make_batch({&long_input}), positions_of({3, 7}), "two");
  testing::expect_attention_hooks_narrow_after_z(*model, model->make_batch({&long_input, &short_input}),
                                                 positions_of({6, 3, 6}), "right-padded batch, a position repeated");
}

class LlavaFinalBlockAt : public ::testing::Test {
 protected:
  void SetUp() override {
    tiny::TinyLlavaOptions o;
    o.text.layers = 3;
    o.seed = o.text.seed = 8;
    tiny::write_tiny_llava_onevision(scratch.path("ckpt"), o);
    model = testing::load_llava(scratch.path("ckpt"));
    image = testing::image_input(*model, 60, 100, {10, 20}, {30, 40, 50}, 3);
    T = static_cast<std::int64_t>(image.ids.size());
  }
  Scratch scratch;
  std::unique_ptr<models::llava_onevision::LlavaOnevisionModel> model;
  EncodedInput image;
  EncodedInput text = testing::text_input({7, 21, 35, 12, 9});
  std::int64_t T = 0;
};

TEST_F(LlavaFinalBlockAt, EqualsTheFullForwardWithAnImage) {
  const Batch single = model->make_batch({&image});
  testing::expect_narrowed_equals_full_forward(*model, single, positions_of({T - 1}), "last");
  testing::expect_narrowed_equals_full_forward(*model, single, positions_of({T / 2}), "inside the image");
  testing::expect_narrowed_equals_full_forward(*model, single, positions_of({T - 2, 1}), "two");
  // Image row and a shorter text row, right-padded.
  const Batch batch = model->make_batch({&image, &text});
  testing::expect_narrowed_equals_full_forward(*model, batch, positions_of({3, T - 1}), "padded batch");
}

TEST_F(LlavaFinalBlockAt, NarrowedPathAndHooks) {
  const Batch single = model->make_batch({&image});
  expect_narrowed_path_taken(*model, single, positions_of({T - 1}));
  expect_hook_inside_final_block_falls_back(*model, single, positions_of({T / 2, T - 1}));
  expect_head_fan_out_matches(*model, single, positions_of({T - 1}));
  testing::expect_attention_hooks_narrow_after_z(*model, single, positions_of({T - 1}), "llava");
}

}  // namespace
}  // namespace mechlens
