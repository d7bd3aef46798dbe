#include "models/layers/small_gemm.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define MECHLENS_SMALL_GEMM_AVX2 1
// Compiled for AVX2 + FMA whatever the build's -march; only ever called after
// available() has checked the CPU.
#define AVX2_FMA __attribute__((target("avx2,fma")))
#endif

namespace mechlens::layers::small_gemm {
namespace {

// Columns j_begin..n of c, one entry at a time.
void plain(std::int64_t m, std::int64_t j_begin, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
           const float* b, std::int64_t ldb, float* c, std::int64_t ldc, float alpha) {
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = j_begin; j < n; ++j) {
      float sum = 0.0f;
      for (std::int64_t p = 0; p < k; ++p) sum += a[i * lda + p] * b[p * ldb + j];
      c[i * ldc + j] = sum * alpha;
    }
}

}  // namespace

#ifdef MECHLENS_SMALL_GEMM_AVX2
namespace {

// Rows x 16 entries of c. The k-long sums stay in 2 * Rows registers while
// b's row p is loaded once for all Rows rows of a (Rows <= 6: the
// accumulators, two b vectors and a broadcast fit in the 16 ymm registers).
template <int Rows>
AVX2_FMA void block16(std::int64_t k, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c,
                      std::int64_t ldc, float alpha) {
  // Every loop over the rows is unrolled, so lo[] and hi[] live in registers (at -O2 GCC would keep them in memory).
  __m256 lo[Rows], hi[Rows];
#pragma GCC unroll 6
  for (int r = 0; r < Rows; ++r) lo[r] = hi[r] = _mm256_setzero_ps();
  for (std::int64_t p = 0; p < k; ++p) {
    const __m256 b_lo = _mm256_loadu_ps(b + p * ldb), b_hi = _mm256_loadu_ps(b + p * ldb + 8);
#pragma GCC unroll 6
    for (int r = 0; r < Rows; ++r) {
      const __m256 x = _mm256_broadcast_ss(a + r * lda + p);
      lo[r] = _mm256_fmadd_ps(x, b_lo, lo[r]);
      hi[r] = _mm256_fmadd_ps(x, b_hi, hi[r]);
    }
  }
  const __m256 scale = _mm256_set1_ps(alpha);
#pragma GCC unroll 6
  for (int r = 0; r < Rows; ++r) {
    _mm256_storeu_ps(c + r * ldc, _mm256_mul_ps(lo[r], scale));
    _mm256_storeu_ps(c + r * ldc + 8, _mm256_mul_ps(hi[r], scale));
  }
}

// The last m % 6 rows of a 16-column strip.
AVX2_FMA void rest_of_strip(std::int64_t rows, std::int64_t k, const float* a, std::int64_t lda, const float* b,
                            std::int64_t ldb, float* c, std::int64_t ldc, float alpha) {
  switch (rows) {
    case 5: return block16<5>(k, a, lda, b, ldb, c, ldc, alpha);
    case 4: return block16<4>(k, a, lda, b, ldb, c, ldc, alpha);
    case 3: return block16<3>(k, a, lda, b, ldb, c, ldc, alpha);
    case 2: return block16<2>(k, a, lda, b, ldb, c, ldc, alpha);
    case 1: return block16<1>(k, a, lda, b, ldb, c, ldc, alpha);
    default: return;
  }
}

AVX2_FMA void multiply_avx2(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
                            const float* b, std::int64_t ldb, float* c, std::int64_t ldc, float alpha) {
  // Strip by strip of 16 columns, so b's [k, 16] strip stays in L1 while
  // every row of a passes by.
  const std::int64_t strips_end = n - n % 16;
  for (std::int64_t j = 0; j < strips_end; j += 16) {
    std::int64_t i = 0;
    for (; i + 6 <= m; i += 6) block16<6>(k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, alpha);
    rest_of_strip(m - i, k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, alpha);
  }
  plain(m, strips_end, n, k, a, lda, b, ldb, c, ldc, alpha);  // the last n % 16 columns (e.g. 129 keys)
}

}  // namespace

bool available() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return yes;
}

void multiply(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda, const float* b,
              std::int64_t ldb, float* c, std::int64_t ldc, float alpha) {
  // An x86-64 CPU without AVX2 gets the plain loop, as the header promises, not an illegal instruction.
  if (available()) return multiply_avx2(m, n, k, a, lda, b, ldb, c, ldc, alpha);
  plain(m, 0, n, k, a, lda, b, ldb, c, ldc, alpha);
}

#else

bool available() { return false; }

// Correct everywhere, fast nowhere: callers check available() first.
void multiply(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda, const float* b,
              std::int64_t ldb, float* c, std::int64_t ldc, float alpha) {
  plain(m, 0, n, k, a, lda, b, ldb, c, ldc, alpha);
}

#endif

}  // namespace mechlens::layers::small_gemm
