#pragma once
// A single-threaded float GEMM for attention's per-head products
// (128 x 128 x 64 at BERT-base shape), where BLAS behind ATen spends more
// on each call than on the arithmetic.
//
// Measured on one core of this project's 2-core AVX2 machine, for the 144
// products of one BERT-base layer at batch 12: at::addmm_out 35 GFLOP/s,
// OpenBLAS's cblas_sgemm called directly 48, this kernel 54 (issue 14).
// Calling cblas directly would tie libmechlens and every plugin to a BLAS
// library; this needs nothing but the compiler.
//
// x86-64 only, chosen at run time: available() is false on a CPU without
// AVX2 and FMA, or on another architecture, and callers keep ATen's path.
#include <cstdint>

namespace mechlens::layers::small_gemm {

// This CPU runs the kernel.
bool available();

// c = alpha * a b, all row-major float with the given leading dimensions
// (the distance between rows, in elements): a [m, k], b [k, n], c [m, n].
// c is overwritten, never read. Runs everywhere, but fast only where
// available() (elsewhere a plain loop).
void multiply(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda, const float* b,
              std::int64_t ldb, float* c, std::int64_t ldc, float alpha);

}  // namespace mechlens::layers::small_gemm
