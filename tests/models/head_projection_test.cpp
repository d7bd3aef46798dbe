// The output projection that pays only for changed heads
// (layers/head_projection.hpp) equals the plain projection on what a head
// sweep gives it, and takes the plain path whenever its shortcut would not
// hold.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "linear_rows.hpp"
#include "models/layers/head_projection.hpp"

namespace mechlens {
namespace {

constexpr std::int64_t T = 9, H = 4, dh = 3, D = 10;

layers::Linear random_projection() { return {at::randn({D, H * dh}), at::randn({D})}; }

at::Tensor plain(const layers::Linear& o, const at::Tensor& z) { return o(z.reshape({z.size(0), T, H * dh})); }

// The batch the projection's one at::linear ran at: 1 when it ran once for the clean z.
std::int64_t batch_of_projection(const layers::Linear& o, const at::Tensor& z, const at::Tensor& clean) {
  const testing::LinearRows linears;
  layers::project_heads(o, z, clean);
  const auto shapes = linears.shapes();
  return shapes.size() == 1 ? shapes[0][0] : -1;
}

TEST(HeadProjection, FannedOutRowsWithOneHeadChangedEqualThePlainProjection) {
  at::manual_seed(21);
  const layers::Linear o = random_projection();
  const at::Tensor clean = at::randn({1, T, H, dh});
  // Row h: head h zeroed (zero ablation); row H: head 1 replaced by other values (mean ablation).
  at::Tensor z = clean.expand({H + 1, T, H, dh}).clone();
  for (std::int64_t h = 0; h < H; ++h) z[h].select(1, h).zero_();
  z[H].select(1, 1).copy_(at::randn({T, dh}));
  const at::Tensor fast = layers::project_heads(o, z, clean);
  EXPECT_EQ(fast.sizes(), (std::vector<std::int64_t>{H + 1, T, D}));
  EXPECT_LT((fast - plain(o, z)).abs().max().item<float>(), 1e-5);
  EXPECT_EQ(batch_of_projection(o, z, clean), 1) << "the shortcut was not taken";
  // A NaN in one row's head reaches that row, and only it.
  z[2][4][3][0] = std::numeric_limits<float>::quiet_NaN();
  const at::Tensor with_nan = layers::project_heads(o, z, clean);
  EXPECT_TRUE(with_nan[2][4].isnan().all().item<bool>());
  EXPECT_FALSE(with_nan[1].isnan().any().item<bool>());
}

TEST(HeadProjection, TakesThePlainPathWhereTheShortcutDoesNotHold) {
  at::manual_seed(22);
  const layers::Linear o = random_projection();
  const at::Tensor clean = at::randn({1, T, H, dh});
  // Every head of every row changed, no clean z, same batch: all equal the plain projection.
  const at::Tensor all_changed = at::randn({3, T, H, dh});
  EXPECT_LT((layers::project_heads(o, all_changed, clean) - plain(o, all_changed)).abs().max().item<float>(), 1e-5);
  EXPECT_TRUE(layers::project_heads(o, all_changed, at::Tensor()).equal(plain(o, all_changed)));
  EXPECT_TRUE(layers::project_heads(o, clean, clean).equal(plain(o, clean)));
  EXPECT_EQ(batch_of_projection(o, all_changed, clean), 3);
  // A hook that zeroed head 0 inside the clean z itself, then fanned it out: nothing left to compare against.
  at::Tensor written = clean.clone();
  const at::Tensor before = written;
  written.select(2, 0).zero_();
  const at::Tensor fanned = written.expand({2, T, H, dh});
  EXPECT_LT((layers::project_heads(o, fanned, before) - plain(o, fanned)).abs().max().item<float>(), 1e-5);
  EXPECT_EQ(batch_of_projection(o, fanned, before), 2);
  // An infinite clean value: inf - inf would hide the change.
  at::Tensor infinite = clean.clone();
  infinite[0][0][2][0] = std::numeric_limits<float>::infinity();
  at::Tensor changed = infinite.expand({2, T, H, dh}).clone();
  changed[1][0][2][0] = 1.0f;
  const at::Tensor out = layers::project_heads(o, changed, infinite);
  EXPECT_FALSE(std::isinf(out[1][0][0].item<float>()));
  EXPECT_TRUE(std::isinf(out[0][0][0].item<float>()));
}

}  // namespace
}  // namespace mechlens
