// Hook points on a tiny BERT: the documented shapes, caching with globs,
// pattern rows, and write hooks that change the forward pass.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "checkpoint/checkpoint.hpp"
#include "hook_axes.hpp"
#include "tiny_bert_support.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

class BertHooks : public ::testing::Test {
 protected:
  void SetUp() override {
    tiny::TinyBertOptions o;
    o.layers = 2;
    o.heads = 4;
    o.d_model = 32;
    model = testing::tiny_bert(scratch, o);
  }
  Scratch scratch;
  std::unique_ptr<models::bert::BertModel> model;
};

TEST_F(BertHooks, DeclaredAxesMatchEveryHookTensor) {
  const auto p = testing::prompts(*model, {"the dog [MASK] .", "red"});
  const std::int64_t T = p.batch.ids.size(1);
  testing::expect_hook_axes_match(*model, p.batch,
                                  {{"batch", 2}, {"pos", T}, {"q_pos", T}, {"k_pos", T}, {"d_model", 32},
                                   {"head", 4}, {"kv_head", 4}, {"d_head", 8}});
}

TEST_F(BertHooks, ReadHooksSeeDocumentedShapes) {
  const auto p = testing::prompts(*model, {"the dog [MASK] .", "red"});
  const std::int64_t B = 2, T = p.batch.ids.size(1), H = 4, dh = 8, D = 32;
  std::map<std::string, std::vector<std::int64_t>> seen;
  HookSet hooks;
  hooks.add_read("*", [&](const std::string& name, const at::Tensor& v) { seen[name] = v.sizes().vec(); });
  model->forward(p.batch, &hooks);
  const auto names = model->hook_names();
  EXPECT_EQ(seen.size(), names.size());
  for (const auto& name : names) {
    ASSERT_TRUE(seen.count(name)) << name << " never fired";
    const auto& shape = seen[name];
    const auto ends = [&](const std::string& s) { return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0; };
    if (ends("hook_q") || ends("hook_k") || ends("hook_v") || ends("hook_z"))
      EXPECT_EQ(shape, (std::vector<std::int64_t>{B, T, H, dh})) << name;
    else if (ends("hook_attn_scores") || ends("hook_attn_scores_unmasked") || ends("hook_attn_mask") || ends("hook_pattern"))
      EXPECT_EQ(shape, (std::vector<std::int64_t>{B, H, T, T})) << name;
    else
      EXPECT_EQ(shape, (std::vector<std::int64_t>{B, T, D})) << name;
  }
}

TEST_F(BertHooks, CacheWithGlobsAndPatternRows) {
  const auto p = testing::prompts(*model, {"the dog [MASK] .", "red"});
  HookSet hooks;
  hooks.cache("blocks.*.attn.hook_pattern");
  hooks.cache("blocks.1.hook_resid_post");
  model->forward(p.batch, &hooks);
  const auto& cache = hooks.cached();
  ASSERT_EQ(cache.size(), 3u);
  ASSERT_TRUE(cache.count("blocks.0.attn.hook_pattern"));
  ASSERT_TRUE(cache.count("blocks.1.attn.hook_pattern"));
  ASSERT_TRUE(cache.count("blocks.1.hook_resid_post"));
  const auto real = static_cast<std::int64_t>(p.encoded[1].ids.size());  // "red" row: [CLS] red [SEP]
  for (const char* name : {"blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern"}) {
    const at::Tensor pattern = cache.at(name);
    EXPECT_LT((pattern.sum(-1) - 1).abs().max().item<float>(), 1e-5) << name;
    // Row 1's padded keys get exactly zero from every query.
    const at::Tensor padded_keys = pattern[1].narrow(-1, real, pattern.size(-1) - real);
    EXPECT_EQ(padded_keys.abs().max().item<float>(), 0.0f) << name;
    EXPECT_GT(pattern[1].narrow(-1, 0, real).min().item<float>(), 0.0f) << name;
  }
  // resid_post of the last block is what the MLM head reads.
  HookSet logits_hooks;
  logits_hooks.cache("ln_final.hook_normalized");
  const at::Tensor logits = model->forward(p.batch, &logits_hooks);
  EXPECT_LT(testing::max_abs_diff(model->unembed(cache.at("blocks.1.hook_resid_post"), nullptr), logits), 1e-5);
}

TEST_F(BertHooks, ZeroingAllHeadsLeavesOnlyTheOutputBias) {
  // With z = 0 the attention output is exactly attention.output.dense's bias,
  // read here straight from the checkpoint file.
  const auto ckpt = checkpoint::Checkpoint::open(scratch.path("ckpt"));
  const at::Tensor bias = ckpt.load("bert.encoder.layer.1.attention.output.dense.bias", {32}, at::kFloat);
  const auto p = testing::prompts(*model, {"where is the cat ?", "a big red car"});
  HookSet hooks;
  hooks.add_write("blocks.1.attn.hook_z", [](const std::string&, const at::Tensor& z) { return at::zeros_like(z); });
  hooks.cache("blocks.1.hook_attn_out");
  model->forward(p.batch, &hooks);
  const at::Tensor attn_out = hooks.cached().at("blocks.1.hook_attn_out");  // [2, T, D]
  EXPECT_LT((attn_out - bias).abs().max().item<float>(), 1e-6);
  // A clean forward differs (the write hook did something).
  HookSet clean;
  clean.cache("blocks.1.hook_attn_out");
  model->forward(p.batch, &clean);
  EXPECT_GT(testing::max_abs_diff(clean.cached().at("blocks.1.hook_attn_out"), attn_out), 1e-3);
}

TEST_F(BertHooks, ZeroingOneHeadRemovesItsTermFromTheOutputProjection) {
  // z of head h feeds columns h*dh..(h+1)*dh of the output dense, so zeroing
  // z_h subtracts z_h @ W_O[:, h*dh:(h+1)*dh]^T (W_O read from the file).
  const auto ckpt = checkpoint::Checkpoint::open(scratch.path("ckpt"));
  const int head = 2, dh = 8;
  const at::Tensor w_o = ckpt.load("bert.encoder.layer.0.attention.output.dense.weight", {32, 32}, at::kFloat);
  const auto p = testing::prompts(*model, {"the dog [MASK] ."});
  HookSet clean;
  clean.cache("blocks.0.attn.hook_z");
  clean.cache("blocks.0.hook_attn_out");
  model->forward(p.batch, &clean);
  const at::Tensor z = clean.cached().at("blocks.0.attn.hook_z");  // [1, T, H, dh]
  const at::Tensor expected = clean.cached().at("blocks.0.hook_attn_out") -
                              at::matmul(z.select(2, head), w_o.narrow(1, head * dh, dh).t());

  HookSet ablated;
  ablated.add_write("blocks.0.attn.hook_z", [&](const std::string&, const at::Tensor& v) {
    at::Tensor out = v.clone();
    out.select(2, head).zero_();
    return out;
  });
  ablated.cache("blocks.0.hook_attn_out");
  model->forward(p.batch, &ablated);
  const at::Tensor got = ablated.cached().at("blocks.0.hook_attn_out");
  EXPECT_LT(testing::max_abs_diff(got, expected), 1e-5);
  EXPECT_GT(testing::max_abs_diff(got, clean.cached().at("blocks.0.hook_attn_out")), 1e-3);
}

TEST_F(BertHooks, WriteHookOnPatternChangesOutput) {
  const auto p = testing::prompts(*model, {"the dog [MASK] ."});
  const at::Tensor clean = model->forward(p.batch, nullptr);
  HookSet uniform;
  uniform.add_write("blocks.0.attn.hook_pattern", [](const std::string&, const at::Tensor& pattern) {
    return at::full_like(pattern, 1.0 / pattern.size(-1));
  });
  uniform.cache("blocks.0.attn.hook_z");
  const at::Tensor changed = model->forward(p.batch, &uniform);
  EXPECT_GT(testing::max_abs_diff(changed, clean), 1e-3);
  // Uniform attention: every position's z is the same (the mean of v).
  const at::Tensor z = uniform.cached().at("blocks.0.attn.hook_z");
  EXPECT_LT((z - z.narrow(1, 0, 1)).abs().max().item<float>(), 1e-5);
}

}  // namespace
}  // namespace mechlens
