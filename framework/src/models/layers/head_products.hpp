#pragma once
// Attention's two per-head products, q k^T and pattern v, read straight from
// the projections' layout.
//
// q [B, Tq, H, dh] and k, v [B, Tk, KV, dh] are views of linear outputs:
// head h of row b is a [T, dh] matrix whose rows are H*dh (or KV*dh) apart,
// which BLAS takes as is (leading dimension). So no transpose copy of q, k or
// v, no repeat_kv copy for grouped-query attention (query head h reads KV
// head h / (H / KV)), and z is written in place as [B, Tq, H, dh], ready for
// the output projection without a copy either (issue 14).
//
// The B*H products are shared out between the threads, each running its
// share single-threaded: libtorch 1.13's CPU bmm spreads every 128 x 64 x 128
// product over all threads, and their synchronisation costs more than the
// product. float runs layers/small_gemm's kernel where the CPU has AVX2 and
// FMA (a head's keys transposed and its values packed into a per-thread
// buffer first); double, bfloat16 and other CPUs run BLAS through ATen on
// the strided views (OpenBLAS runs single-threaded inside a parallel region).
//
// Falls back to at::matmul (transposes, repeat_kv, bmm) where autograd must
// see the op, off the CPU, for dtypes other than float, double and bfloat16,
// and when q, k and v have different batch sizes (a write hook may broadcast
// one of them). All paths agree to float rounding.
#include <ATen/core/Tensor.h>

namespace mechlens::layers {

// scale * q k^T per head → scores [B, H, Tq, Tk].
at::Tensor head_scores(const at::Tensor& q, const at::Tensor& k, double scale);

// pattern [B, H, Tq, Tk] times v [B, Tk, KV, dh] per head → z [B, Tq, H, dh].
at::Tensor head_mix(const at::Tensor& pattern, const at::Tensor& v);

}  // namespace mechlens::layers
