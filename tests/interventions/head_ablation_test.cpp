// Batched head ablations: row b of one forward equals a separate forward
// carrying only row b's ablation; the prefix-reuse sweep equals the naive
// loop; identity ablation means "attend only to yourself".
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "mechlens/error.hpp"
#include "mechlens/interventions.hpp"
#include "tiny_bert_support.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

constexpr double kTol = 1e-5;
const HeadAblation kKinds[] = {HeadAblation::zero, HeadAblation::identity, HeadAblation::mean};

class HeadAblations : public ::testing::Test {
 protected:
  void SetUp() override {
    tiny::TinyBertOptions o;
    o.layers = 3;
    o.heads = 4;
    o.d_model = 32;
    o.seed = 11;
    model = testing::tiny_bert(scratch, o);
  }
  // One forward of `batch` with rows[b] ablated in row b.
  at::Tensor ablated(const Batch& batch, const std::vector<std::optional<LayerHead>>& rows, HeadAblation kind) const {
    HookSet hooks;
    add_head_ablations(hooks, model->geometry(), rows, kind, batch.attention_mask);
    return model->forward(batch, &hooks);
  }
  Scratch scratch;
  std::unique_ptr<models::bert::BertModel> model;
};

TEST_F(HeadAblations, BatchedRowsEqualSeparateForwards) {
  const std::string text = "the capital of france is [MASK] .";
  const std::vector<std::optional<LayerHead>> rows = {std::nullopt, LayerHead{0, 1}, LayerHead{2, 3}, LayerHead{0, 0},
                                                      LayerHead{1, 2}};
  const auto single = testing::prompts(*model, {text});
  const auto repeated = testing::prompts(*model, std::vector<std::string>(rows.size(), text));
  const at::Tensor clean = model->forward(single.batch, nullptr);
  for (HeadAblation kind : kKinds) {
    const at::Tensor expanded = ablated(single.batch, rows, kind);    // batch 1 → 5 at the first hook
    const at::Tensor batched = ablated(repeated.batch, rows, kind);   // batch 5 throughout
    ASSERT_EQ(expanded.size(0), 5) << to_string(kind);
    ASSERT_EQ(batched.size(0), 5) << to_string(kind);
    for (std::size_t b = 0; b < rows.size(); ++b) {
      const at::Tensor separate = rows[b] ? ablated(single.batch, {rows[b]}, kind) : clean;
      EXPECT_LT(testing::rel_diff(expanded[b], separate[0]), kTol) << to_string(kind) << " row " << b;
      EXPECT_LT(testing::rel_diff(batched[b], separate[0]), kTol) << to_string(kind) << " row " << b;
      if (rows[b]) { EXPECT_GT(testing::max_abs_diff(separate, clean), 1e-4) << to_string(kind) << " row " << b; }
    }
  }
}

TEST_F(HeadAblations, PaddedRowsEqualUnpaddedSingleForwards) {
  // Different prompts, right-padded: the mean runs over each row's real tokens only.
  const std::vector<std::string> texts = {"a cat", "the old man saw a big red car in the city"};
  const std::vector<std::optional<LayerHead>> rows = {LayerHead{1, 1}, LayerHead{0, 2}};
  const auto batch = testing::prompts(*model, texts);
  for (HeadAblation kind : kKinds) {
    const at::Tensor batched = ablated(batch.batch, rows, kind);
    for (std::size_t b = 0; b < texts.size(); ++b) {
      const auto single = testing::prompts(*model, {texts[b]});
      const auto n = single.batch.ids.size(1);
      EXPECT_LT(testing::rel_diff(batched[b].narrow(0, 0, n), ablated(single.batch, {rows[b]}, kind)[0]), kTol)
          << to_string(kind) << " row " << b;
    }
  }
}

TEST_F(HeadAblations, AblateEachHeadEqualsNaiveLoop) {
  const auto single = testing::prompts(*model, {"where is the [MASK] dog ?"});
  const auto answer = single.encoded[0].answer_position;
  const at::Tensor positions = at::tensor({answer, std::int64_t{0}}, at::kLong);
  const CleanRun run = capture_resid_pre(*model, single.batch, positions);
  ASSERT_EQ(run.resid_pre.size(), 3u);
  for (HeadAblation kind : kKinds)
    for (int layer = 0; layer < 3; ++layer) {
      const at::Tensor sweep = ablate_each_head(*model, single.batch, run.resid_pre[layer], layer, kind, positions);
      ASSERT_EQ(sweep.sizes(), (std::vector<std::int64_t>{4, 2, model->geometry().vocab_size}));
      for (int head = 0; head < 4; ++head) {
        HookSet hooks;
        add_head_ablations(hooks, model->geometry(), {LayerHead{layer, head}}, kind);
        const at::Tensor naive = model->forward(single.batch, &hooks, positions);  // full forward
        EXPECT_LT(testing::rel_diff(sweep[head], naive[0]), kTol)
            << to_string(kind) << " layer " << layer << " head " << head;
      }
    }
  // A subset of heads, in the order asked.
  const at::Tensor some = ablate_each_head(*model, single.batch, run.resid_pre[1], 1, HeadAblation::zero, positions, {3, 1});
  const at::Tensor all = ablate_each_head(*model, single.batch, run.resid_pre[1], 1, HeadAblation::zero, positions);
  ASSERT_EQ(some.size(0), 2);
  EXPECT_LT(testing::rel_diff(some[0], all[3]), kTol);
  EXPECT_LT(testing::rel_diff(some[1], all[1]), kTol);
}

TEST_F(HeadAblations, IdentityEqualsIdentityPattern) {
  // Independent statement of the semantics: the head's attention pattern
  // replaced by the identity matrix (each position attends to itself).
  const auto single = testing::prompts(*model, {"the dog [MASK] the cat ."});
  for (const LayerHead lh : {LayerHead{0, 3}, LayerHead{2, 0}}) {
    HookSet pattern_hooks;
    pattern_hooks.add_write("blocks." + std::to_string(lh.layer) + ".attn.hook_pattern",
                            [lh](const std::string&, const at::Tensor& pattern) {
                              at::Tensor out = pattern.clone();
                              out.select(1, lh.head).copy_(at::eye(pattern.size(-1), pattern.options()));
                              return out;
                            });
    const at::Tensor expected = model->forward(single.batch, &pattern_hooks);
    EXPECT_LT(testing::rel_diff(ablated(single.batch, {lh}, HeadAblation::identity), expected), kTol);
  }
}

TEST_F(HeadAblations, MeanEqualsPositionMeanOfCleanZ) {
  const auto single = testing::prompts(*model, {"i think you are very good"});
  HookSet clean;
  clean.cache("blocks.1.attn.hook_z");
  model->forward(single.batch, &clean);
  const at::Tensor z = clean.cached().at("blocks.1.attn.hook_z");
  HookSet replace;
  replace.add_write("blocks.1.attn.hook_z", [&](const std::string&, const at::Tensor& v) {
    at::Tensor out = v.clone();
    out.select(2, 2).copy_(z.select(2, 2).mean(1, true).expand_as(out.select(2, 2)));
    return out;
  });
  EXPECT_LT(testing::rel_diff(ablated(single.batch, {LayerHead{1, 2}}, HeadAblation::mean),
                                  model->forward(single.batch, &replace)),
            kTol);
}

TEST_F(HeadAblations, CaptureResidPreResumesToTheSameLogits) {
  const auto p = testing::prompts(*model, {"the dog [MASK] .", "a cat"});
  const CleanRun run = capture_resid_pre(*model, p.batch);
  const at::Tensor full = model->forward(p.batch, nullptr);
  EXPECT_LT(testing::rel_diff(run.logits, full), 1e-6);
  for (int layer = 0; layer < 3; ++layer)
    EXPECT_LT(testing::rel_diff(model->forward_from(layer, run.resid_pre[layer], p.batch, nullptr), full), kTol);
}

TEST(HeadAblationHooks, IdentityUsesTheQueryHeadsKvGroupAndExpandsTheBatch) {
  // Grouped-query geometry (4 query heads share 2 KV heads), driven through
  // the hook points directly: head h reads KV head h / 2.
  Geometry g;
  g.n_layers = 1;
  g.n_heads = 4;
  g.n_kv_heads = 2;
  at::manual_seed(5);
  const at::Tensor v = at::randn({1, 3, 2, 5});
  const at::Tensor z = at::randn({1, 3, 4, 5});
  HookSet hooks;
  add_head_ablations(hooks, g, {LayerHead{0, 3}, LayerHead{0, 0}, std::nullopt}, HeadAblation::identity);
  hooks.point("blocks.0.attn.hook_v", v);
  const at::Tensor out = hooks.point("blocks.0.attn.hook_z", z);
  ASSERT_EQ(out.sizes(), (std::vector<std::int64_t>{3, 3, 4, 5}));
  EXPECT_TRUE(at::equal(out[0].select(1, 3), v[0].select(1, 1)));
  EXPECT_TRUE(at::equal(out[1].select(1, 0), v[0].select(1, 0)));
  EXPECT_TRUE(at::equal(out[2], z[0]));  // the clean row
  for (int h : {0, 1, 2}) EXPECT_TRUE(at::equal(out[0].select(1, h), z[0].select(1, h)));
  for (int h : {1, 2, 3}) EXPECT_TRUE(at::equal(out[1].select(1, h), z[0].select(1, h)));
  // A batch that is neither 1 nor the number of rows is an error naming the hook.
  try {
    hooks.point("blocks.0.attn.hook_z", at::randn({2, 3, 4, 5}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blocks.0.attn.hook_z"), std::string::npos) << e.what();
  }
}

TEST(HeadAblationNames, ParseAndPrint) {
  for (HeadAblation kind : kKinds) EXPECT_EQ(parse_head_ablation(to_string(kind)), kind);
  try {
    parse_head_ablation("resample");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("resample"), std::string::npos);
  }
}

TEST_F(HeadAblations, OutOfRangeHeadIsAnError) {
  HookSet hooks;
  EXPECT_THROW(add_head_ablations(hooks, model->geometry(), {LayerHead{0, 4}}, HeadAblation::zero), Error);
  EXPECT_THROW(add_head_ablations(hooks, model->geometry(), {LayerHead{3, 0}}, HeadAblation::zero), Error);
}

}  // namespace
}  // namespace mechlens
