// Grouped-query attention and rotary embeddings, checked against their
// definitions written out independently here.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "models/layers/attention.hpp"
#include "models/layers/rotary.hpp"
#include "models/layers/rotary_attention.hpp"
#include "tiny_qwen2_support.hpp"

namespace mechlens {
namespace {

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>(); }

TEST(GroupedQueryAttention, EqualsAttentionWithKvHeadsExplicitlyRepeated) {
  at::manual_seed(1);
  const std::int64_t B = 2, T = 6, H = 6, KV = 2, dh = 4;
  const at::Tensor q = at::randn({B, T, H, dh}), k = at::randn({B, T, KV, dh}), v = at::randn({B, T, KV, dh});
  const at::Tensor mask = layers::make_attention_mask(at::Tensor(), T, T, true, at::kCPU);
  HookSet hooks;
  hooks.cache("*");
  const at::Tensor grouped = layers::attend(q, k, v, mask, HookScope(&hooks, "g."));
  // Query head h reads KV head h / (H / KV): heads 0,1,2 → KV 0; 3,4,5 → KV 1.
  at::Tensor k_full = at::empty({B, T, H, dh}), v_full = at::empty({B, T, H, dh});
  for (std::int64_t h = 0; h < H; ++h) {
    k_full.select(2, h).copy_(k.select(2, h / (H / KV)));
    v_full.select(2, h).copy_(v.select(2, h / (H / KV)));
  }
  const at::Tensor full = layers::attend(q, k_full, v_full, mask, HookScope(&hooks, "f."));
  EXPECT_LT(max_diff(grouped, full), 1e-6);
  EXPECT_LT(max_diff(hooks.cached().at("g.hook_pattern"), hooks.cached().at("f.hook_pattern")), 1e-6);

  // And by hand for one head: softmax(q k^T / sqrt(dh) causal) v.
  const std::int64_t h = 4, b = 1;
  const at::Tensor qh = q[b].select(1, h), kh = k[b].select(1, h / 3), vh = v[b].select(1, h / 3);  // [T, dh]
  at::Tensor scores = at::matmul(qh, kh.t()) / std::sqrt(double(dh));
  scores = scores.masked_fill(at::ones({T, T}, at::kBool).triu(1), -INFINITY);
  const at::Tensor z = at::matmul(at::softmax(scores, -1), vh);
  EXPECT_LT(max_diff(grouped[b].select(1, h), z), 1e-5);
  // A wrong grouping (interleaved h % KV) would differ.
  const at::Tensor wrong = at::matmul(at::softmax(at::matmul(qh, k[b].select(1, h % KV).t()) / std::sqrt(double(dh)), -1),
                                      v[b].select(1, h % KV));
  EXPECT_GT(max_diff(grouped[b].select(1, h), wrong), 1e-3);
}

TEST(Rotary, EqualsRotationMatricesOnPairsIAndIPlusHalf) {
  at::manual_seed(2);
  const std::int64_t T = 9, H = 2, d = 8;
  const double theta = 10000.0;
  const at::Tensor x = at::randn({1, T, H, d}, at::kDouble);
  const auto tables = layers::rotary_tables(T, d, theta, at::kDouble, at::kCPU);
  const at::Tensor rotated = layers::apply_rotary(x, tables);
  for (std::int64_t p = 0; p < T; ++p) {
    // Build the d x d block rotation: pair (i, i + d/2) rotated by p * theta^(-2i/d).
    at::Tensor R = at::zeros({d, d}, at::kDouble);
    for (std::int64_t i = 0; i < d / 2; ++i) {
      const double angle = p * std::pow(theta, -2.0 * i / d);
      R[i][i] = std::cos(angle);
      R[i][i + d / 2] = -std::sin(angle);
      R[i + d / 2][i] = std::sin(angle);
      R[i + d / 2][i + d / 2] = std::cos(angle);
    }
    for (std::int64_t h = 0; h < H; ++h) {
      const at::Tensor expected = at::matmul(R, x[0][p][h]);
      // Angles are computed in float32 as HF does: agreement to float32 precision.
      EXPECT_LT(max_diff(rotated[0][p][h], expected), 1e-5) << "position " << p;
    }
  }
  // Position 0 is the identity; rotation preserves the norm at every position.
  EXPECT_LT(max_diff(rotated[0][0], x[0][0]), 1e-12);
  EXPECT_LT(max_diff(rotated.norm(2, -1), x.norm(2, -1)), 1e-5);
}

TEST(Rotary, PartialRotaryLeavesTheTailUntouched) {
  at::manual_seed(3);
  const at::Tensor x = at::randn({1, 5, 1, 8});
  const auto tables = layers::rotary_tables(5, 6, 10000.0, at::kFloat, at::kCPU);
  const at::Tensor y = layers::apply_rotary(x, tables);
  EXPECT_TRUE(at::equal(y.narrow(-1, 6, 2), x.narrow(-1, 6, 2)));
  EXPECT_GT(max_diff(y.narrow(-1, 0, 6), x.narrow(-1, 0, 6)), 1e-3);
}

TEST(RotaryAttention, HookQIsBeforeRotaryAndHookRotQAfter) {
  at::manual_seed(4);
  const std::int64_t T = 5, H = 4, KV = 2, d = 8;
  const at::Tensor q = at::randn({1, T, H, d}), k = at::randn({1, T, KV, d}), v = at::randn({1, T, KV, d});
  const auto tables = layers::rotary_tables(T, d, 1e6, at::kFloat, at::kCPU);
  HookSet hooks;
  hooks.cache("*");
  layers::rotary_attention(q, k, v, tables, at::Tensor(), HookScope(&hooks, "a."));
  const auto& c = hooks.cached();
  EXPECT_TRUE(at::equal(c.at("a.hook_q"), q));
  EXPECT_TRUE(at::equal(c.at("a.hook_k"), k));
  EXPECT_EQ(c.at("a.hook_k").size(2), KV);
  EXPECT_EQ(c.at("a.hook_v").size(2), KV);
  EXPECT_LT(max_diff(c.at("a.hook_rot_q"), layers::apply_rotary(q, tables)), 1e-7);
  EXPECT_LT(max_diff(c.at("a.hook_rot_k"), layers::apply_rotary(k, tables)), 1e-7);
  EXPECT_EQ(c.at("a.hook_pattern").sizes(), (std::vector<std::int64_t>{1, H, T, T}));
  EXPECT_EQ(c.at("a.hook_z").sizes(), (std::vector<std::int64_t>{1, T, H, d}));
}

}  // namespace
}  // namespace mechlens
