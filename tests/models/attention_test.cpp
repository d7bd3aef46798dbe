// The shared attention core: grouped-query attention equals the same
// attention with K/V heads repeated, masks block keys exactly, and the
// batch dimension broadcasts.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "models/layers/attention.hpp"
#include "models/layers/norms.hpp"

namespace mechlens {
namespace {

// Plain attention written independently: per head, softmax(q k^T / sqrt(d) + mask) v.
at::Tensor naive(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& keep) {
  const auto B = q.size(0), T = q.size(1), H = q.size(2), d = q.size(3), KV = k.size(2);
  at::Tensor z = at::zeros_like(q);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t h = 0; h < H; ++h) {
      const auto kvh = h / (H / KV);
      at::Tensor s = at::matmul(q[b].select(1, h), k[b].select(1, kvh).t()) / std::sqrt(double(d));  // [T, T]
      s = s.masked_fill(keep[b].logical_not().unsqueeze(0).expand({T, T}), -INFINITY);
      z[b].select(1, h).copy_(at::matmul(at::softmax(s, -1), v[b].select(1, kvh)));
    }
  return z;
}

TEST(Attention, GroupedQueryMatchesRepeatedKv) {
  at::manual_seed(0);
  const auto q = at::randn({2, 5, 6, 4}, at::kDouble), k = at::randn({2, 5, 2, 4}, at::kDouble),
             v = at::randn({2, 5, 2, 4}, at::kDouble);
  const at::Tensor keep = at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 0, 0}).to(at::kBool).view({2, 5});
  const at::Tensor mask = layers::make_attention_mask(keep, 5, 5, false, q.device());
  const at::Tensor z = layers::attention(q, k, v, mask, HookScope(nullptr, ""));
  EXPECT_LT((z - naive(q, k, v, keep)).abs().max().item<double>(), 1e-12);
  // Same as explicit repetition: head h reads KV head h / 3.
  const at::Tensor kr = k.repeat_interleave(3, 2), vr = v.repeat_interleave(3, 2);
  EXPECT_LT((z - layers::attention(q, kr, vr, mask, HookScope(nullptr, ""))).abs().max().item<double>(), 1e-12);
}

TEST(Attention, CausalMaskAndPatternZeros) {
  at::manual_seed(1);
  const auto q = at::randn({1, 4, 2, 3}), k = at::randn({1, 4, 2, 3}), v = at::randn({1, 4, 2, 3});
  const at::Tensor keep = at::tensor({1, 1, 1, 0}).to(at::kBool).view({1, 4});
  HookSet hooks;
  hooks.cache("*hook_pattern");
  layers::attention(q, k, v, layers::make_attention_mask(keep, 4, 4, true, q.device()), HookScope(&hooks, "x."));
  const at::Tensor pattern = hooks.cached().at("x.hook_pattern")[0];  // [H, T, T]
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      if (j > i || j == 3) { EXPECT_EQ(pattern.select(1, i).select(1, j).abs().max().item<float>(), 0.0f); }
    }
  EXPECT_NEAR(pattern[0][0][0].item<float>(), 1.0f, 1e-6);
  EXPECT_FALSE(pattern.isnan().any().item<bool>());
}

TEST(Attention, BatchOneQueriesBroadcastAgainstBatchedValues) {
  at::manual_seed(2);
  const auto q = at::randn({1, 3, 2, 4}), k = at::randn({1, 3, 2, 4});
  const auto v = at::randn({3, 3, 2, 4});  // e.g. a hook expanded v to three variants
  const at::Tensor keep = at::ones({1, 3}, at::kBool);
  const at::Tensor z = layers::attention(q, k, v, layers::make_attention_mask(keep, 3, 3, false, q.device()),
                                         HookScope(nullptr, ""));
  ASSERT_EQ(z.size(0), 3);
  for (int b = 0; b < 3; ++b) {
    const at::Tensor single = layers::attention(q, k, v.narrow(0, b, 1), at::Tensor(), HookScope(nullptr, ""));
    EXPECT_LT((z.narrow(0, b, 1) - single).abs().max().item<float>(), 1e-6);
  }
}

// The per-head products (layers/head_products.hpp) read q, k, v where the
// projections left them, here slices of one fused [B, T, (H + 2 KV) dh]
// output, and write z in place: they must equal the transposing, repeat_kv
// path autograd takes, with padding, grouped heads and a causal mask. Two
// shapes: one too small for the float kernel's 16-column strips, one with
// strips and leftover rows and columns (T = 21, dh = 32).
void expect_per_head_products_equal_the_autograd_path(std::int64_t T, std::int64_t dh) {
  at::manual_seed(4);
  const std::int64_t B = 3, H = 6, KV = 2;
  const at::Tensor fused = at::randn({B, T, (H + 2 * KV) * dh});
  const at::Tensor q = fused.narrow(2, 0, H * dh).view({B, T, H, dh});
  const at::Tensor k = fused.narrow(2, H * dh, KV * dh).view({B, T, KV, dh});
  const at::Tensor v = fused.narrow(2, (H + KV) * dh, KV * dh).view({B, T, KV, dh});
  ASSERT_FALSE(q.is_contiguous());
  at::Tensor keep = at::ones({B, T}, at::kBool);
  keep[2].narrow(0, 5, 2).fill_(false);
  const at::Tensor mask = layers::make_attention_mask(keep, T, T, true, q.device());
  const at::Tensor fast = layers::attend(q, k, v, mask, HookScope(nullptr, ""), 0.3);
  EXPECT_TRUE(fast.is_contiguous());
  const at::Tensor q_grad = q.detach().clone().requires_grad_(true);  // autograd: the fallback path
  const at::Tensor slow = layers::attend(q_grad, k, v, mask, HookScope(nullptr, ""), 0.3);
  EXPECT_EQ(fast.sizes(), slow.sizes());
  EXPECT_LT((fast - slow.detach()).abs().max().item<float>(), 1e-5);
  // And by hand for one grouped head of the padded row: query 4 reads keys 0..4 of KV head 1.
  const std::int64_t b = 2, h = 4, t = 4;
  const at::Tensor s = at::matmul(q[b][t][h], k[b].narrow(0, 0, t + 1).select(1, h / 3).t()) * 0.3;
  const at::Tensor z = at::matmul(at::softmax(s, -1), v[b].narrow(0, 0, t + 1).select(1, h / 3));
  EXPECT_LT((fast[b][t][h] - z).abs().max().item<float>(), 1e-5);
}

TEST(Attention, PerHeadProductsOnStridedViewsEqualTheAutogradPath) {
  expect_per_head_products_equal_the_autograd_path(7, 5);
  expect_per_head_products_equal_the_autograd_path(21, 32);
}

// A score hook that rewrites masked entries (lowest * 0 = 0) must not let a
// blocked key through: blocked keys keep exactly zero weight. And a padding
// mask with nothing padded is no mask at all.
TEST(Attention, BlockedKeysStayBlockedWhenAHookRewritesTheScores) {
  at::manual_seed(5);
  const auto q = at::randn({1, 4, 2, 3}), k = at::randn({1, 4, 2, 3}), v = at::randn({1, 4, 2, 3});
  const at::Tensor causal = layers::make_attention_mask({}, 4, 4, true, q.device());
  HookSet hooks;
  hooks.add_write("x.hook_attn_scores", [](const std::string&, const at::Tensor& s) { return s * 0.0; });
  hooks.cache("x.hook_pattern");
  layers::attention(q, k, v, causal, HookScope(&hooks, "x."));
  const at::Tensor pattern = hooks.cached().at("x.hook_pattern")[0];  // [H, T, T]
  EXPECT_EQ(pattern.triu(1).abs().max().item<float>(), 0.0f);
  // Every score 0: softmax gives each of the 4 keys 1/4, the blocked ones are then zeroed.
  EXPECT_NEAR(pattern[0][1][0].item<float>(), 0.25f, 1e-6);
  EXPECT_FALSE(layers::make_attention_mask(at::ones({2, 4}, at::kBool), 4, 4, false, q.device()).defined());
  EXPECT_TRUE(layers::make_attention_mask(at::ones({2, 4}, at::kBool), 4, 4, true, q.device()).defined());
}

TEST(Norms, RmsNormInFloat32ThenCastBack) {
  at::manual_seed(3);
  const at::Tensor x = at::randn({2, 8}).to(at::kBFloat16);
  const layers::RmsNorm norm{at::full({8}, 2.0).to(at::kBFloat16), 1e-6};
  const at::Tensor y = norm(x);
  EXPECT_EQ(y.scalar_type(), at::kBFloat16);
  const at::Tensor xf = x.to(at::kFloat);
  const at::Tensor expected = (xf / (xf.pow(2).mean(-1, true) + 1e-6).sqrt()).to(at::kBFloat16).to(at::kFloat) * 2.0;
  EXPECT_LT((y.to(at::kFloat) - expected).abs().max().item<float>(), 1e-2);
}

}  // namespace
}  // namespace mechlens

namespace mechlens {
namespace {

// hook_attn_mask: clearing an edge blocks it exactly (weight 0, the row
// renormalised over the rest), a fully cleared row is all zeros as fully
// masked rows are, other rows are untouched, and the causal mask still holds.
TEST(AttentionMaskHook, ClearedEdgesCarryExactlyZeroWeight) {
  at::manual_seed(1);
  const auto q = at::randn({1, 4, 2, 3}, at::kFloat), k = at::randn({1, 4, 2, 3}, at::kFloat),
             v = at::randn({1, 4, 2, 3}, at::kFloat);
  const at::Tensor causal = layers::make_attention_mask({}, 4, 4, true, q.device());
  HookSet clean_hooks;
  clean_hooks.cache("attn.hook_pattern");
  layers::attention(q, k, v, causal, HookScope(&clean_hooks, "attn."));
  const at::Tensor clean = clean_hooks.cached().at("attn.hook_pattern");

  HookSet hooks;
  hooks.add_write("attn.hook_attn_mask", [](const std::string&, const at::Tensor& allowed) {
    EXPECT_EQ(allowed.sizes(), (at::IntArrayRef{1, 2, 4, 4}));
    at::Tensor out = allowed.clone();
    out[0][0][3][1] = false;       // head 0: query 3 may not see key 1
    out[0][1][0].fill_(false);     // head 1: query 0 sees nothing
    return out;
  });
  hooks.cache("attn.hook_pattern");
  layers::attention(q, k, v, causal, HookScope(&hooks, "attn."));
  const at::Tensor p = hooks.cached().at("attn.hook_pattern");
  EXPECT_EQ(p[0][0][3][1].item<float>(), 0.0f);
  EXPECT_NEAR(p[0][0][3].sum().item<float>(), 1.0f, 1e-6);
  const at::Tensor renormalised = clean[0][0][3] / (1 - clean[0][0][3][1]);
  for (int key : {0, 2, 3}) EXPECT_NEAR(p[0][0][3][key].item<float>(), renormalised[key].item<float>(), 1e-6);
  EXPECT_EQ(p[0][1][0].abs().sum().item<float>(), 0.0f);
  EXPECT_TRUE(at::equal(p[0][0].narrow(0, 0, 3), clean[0][0].narrow(0, 0, 3)));
  EXPECT_EQ(p[0][0][1][2].item<float>(), 0.0f);  // still causal
}

// hook_attn_scores_unmasked sees the whole raw row, future keys included.
TEST(AttentionMaskHook, UnmaskedScoresIncludeFutureKeys) {
  at::manual_seed(2);
  const auto q = at::randn({1, 3, 1, 4}, at::kDouble), k = at::randn({1, 3, 1, 4}, at::kDouble),
             v = at::randn({1, 3, 1, 4}, at::kDouble);
  HookSet hooks;
  hooks.cache("attn.hook_attn_scores_unmasked");
  hooks.cache("attn.hook_attn_scores");
  layers::attention(q, k, v, layers::make_attention_mask({}, 3, 3, true, q.device()), HookScope(&hooks, "attn."));
  const at::Tensor raw = hooks.cached().at("attn.hook_attn_scores_unmasked");
  const at::Tensor expected = at::matmul(q[0].select(1, 0), k[0].select(1, 0).t()) / 2.0;  // sqrt(4)
  EXPECT_LT((raw[0][0] - expected).abs().max().item<double>(), 1e-12);
  EXPECT_EQ(hooks.cached().at("attn.hook_attn_scores")[0][0][0][2].item<double>(), layers::lowest_value(at::kDouble));
}

}  // namespace
}  // namespace mechlens
