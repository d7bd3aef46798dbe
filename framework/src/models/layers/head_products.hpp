#pragma once
// Batched products of many small matrices (attention's q k^T and pattern v).
//
// libtorch 1.13's CPU bmm calls BLAS once per matrix, and each call spreads a
// 128 x 64 x 128 product over every thread: the threads' synchronisation
// costs more than the product (issue 14: QK^T and PV took a fifth of a
// BERT-base sensitivity sweep for 3% of its FLOPs). Here the matrices are
// shared out between the threads, each running its share single-threaded
// (OpenBLAS runs single-threaded inside a parallel region). Same kernel, same
// products; falls back to at::matmul where autograd must see the op, off the
// CPU, or when the batch shapes differ (broadcasting).
#include <ATen/core/Tensor.h>

namespace mechlens::layers {

// a [..., n, k] x b [..., k, m] → [..., n, m], equal leading dimensions.
at::Tensor batched_matmul(const at::Tensor& a, const at::Tensor& b);

}  // namespace mechlens::layers
