// The attention products' own float GEMM (layers/small_gemm.hpp) equals a
// double-precision product on every shape class it splits into: full 6-row
// blocks, the 1-5 rows left over, whole 16-column strips and the columns
// after the last strip, with rows of a, b and c further apart than their
// width (a head's slice of a wider tensor).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "models/layers/small_gemm.hpp"

namespace mechlens {
namespace {

// c = alpha a b through the kernel, for a [m, k], b [k, n] at the given leading dimensions.
at::Tensor through_kernel(const at::Tensor& a_wide, const at::Tensor& b_wide, std::int64_t m, std::int64_t n,
                          std::int64_t k, float alpha, std::int64_t ldc) {
  at::Tensor c = at::full({m, ldc}, 7.0f);  // overwritten where written: the padding keeps its 7
  layers::small_gemm::multiply(m, n, k, a_wide.data_ptr<float>(), a_wide.stride(0), b_wide.data_ptr<float>(),
                               b_wide.stride(0), c.data_ptr<float>(), ldc, alpha);
  return c;
}

TEST(SmallGemm, EqualsADoublePrecisionProductOnEveryBlockShape) {
  at::manual_seed(11);
  struct Shape {
    std::int64_t m, n, k;
  };
  // 128 x 128 x 64: BERT-base's scores; 128 x 64 x 128: its pattern · v;
  // 13 x 37 x 19: two 6-row blocks + 1 row, two strips + 5 columns; 5 x 3 x 2: no strip at all.
  for (const Shape s : {Shape{128, 128, 64}, Shape{128, 64, 128}, Shape{13, 37, 19}, Shape{5, 3, 2}, Shape{1, 16, 1}}) {
    const at::Tensor a_wide = at::randn({s.m, s.k + 9}), b_wide = at::randn({s.k, s.n + 5});
    const at::Tensor a = a_wide.narrow(1, 0, s.k), b = b_wide.narrow(1, 0, s.n);
    const std::int64_t ldc = s.n + 3;
    const at::Tensor c = through_kernel(a_wide, b_wide, s.m, s.n, s.k, 0.3f, ldc);
    const at::Tensor expected = at::matmul(a.to(at::kDouble), b.to(at::kDouble)) * 0.3;
    const double tolerance = 1e-6 * static_cast<double>(s.k);
    EXPECT_LT((c.narrow(1, 0, s.n).to(at::kDouble) - expected).abs().max().item<double>(), tolerance)
        << s.m << " x " << s.n << " x " << s.k;
    EXPECT_TRUE(c.narrow(1, s.n, ldc - s.n).eq(7.0f).all().item<bool>()) << "wrote past column " << s.n;
  }
}

TEST(SmallGemm, PropagatesNaNAndInfinity) {
  at::Tensor a = at::ones({7, 4}), b = at::ones({4, 20});
  a[2][1] = std::numeric_limits<float>::quiet_NaN();
  b[3][17] = std::numeric_limits<float>::infinity();
  const at::Tensor c = through_kernel(a, b, 7, 20, 4, 1.0f, 20);
  EXPECT_TRUE(c[2].isnan().all().item<bool>());
  EXPECT_TRUE(std::isinf(c[0][17].item<float>()));
  EXPECT_EQ(c[0][0].item<float>(), 4.0f);
}

}  // namespace
}  // namespace mechlens
