#pragma once
// Joint embeddings of queries and keys: PCA and exact t-SNE, in ATen ops
// (float64). Inputs are [n, d] rows (queries then keys).
#include <ATen/ATen.h>

#include <cstdint>

namespace attentionviz {

// The first `k` principal-component scores of the rows: (x - mean) V_k, with
// V from the SVD of the centred rows. Sign: each component's loading vector
// (a row of V^T) has its largest-magnitude entry positive (as scikit-learn's
// svd_flip on V^T), so the result does not depend on the SVD routine.
at::Tensor pca(const at::Tensor& x, int k);

struct TsneOptions {
  int dims = 2;
  double perplexity = 30.0;  // clamped to (n - 1) / 3
  int iterations = 1000;
  std::uint64_t seed = 0;
};

// Exact t-SNE (van der Maaten & Hinton 2008, as scikit-learn's exact method):
// Gaussian affinities matched to the perplexity by bisection, symmetrised;
// Student-t similarities; gradient descent with early exaggeration 12 for
// the first quarter of the iterations (at most 250), momentum 0.5 then 0.8,
// adaptive gains, learning rate max(n / 48, 50). Start: N(0, 1e-4) drawn
// from std::mt19937_64(seed), so a seed gives the same result every run.
// O(n^2) memory and time per iteration: fine up to a few thousand points.
at::Tensor tsne(const at::Tensor& x, const TsneOptions& options);

}  // namespace attentionviz
