#include "projection.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace attentionviz {

at::Tensor pca(const at::Tensor& x, int k) {
  const at::Tensor centred = x - x.mean(0, true);
  const auto [u, s, vh] = at::linalg_svd(centred, /*full_matrices=*/false);
  at::Tensor v = vh.narrow(0, 0, std::min<std::int64_t>(k, vh.size(0)));  // [k, d]
  const at::Tensor biggest = v.abs().argmax(1, true);
  v = v * v.gather(1, biggest).sign();
  at::Tensor scores = at::matmul(centred, v.t());
  if (scores.size(1) < k)  // fewer dimensions than components: pad with zeros
    scores = at::cat({scores, at::zeros({scores.size(0), k - scores.size(1)}, scores.options())}, 1);
  return scores;
}

namespace {

at::Tensor squared_distances(const at::Tensor& y) {
  const at::Tensor n = y.pow(2).sum(1);
  return at::matmul(y, y.t()).mul_(-2.0).add_(n.unsqueeze(1)).add_(n.unsqueeze(0)).clamp_min_(0);
}

// Conditional affinities p(j|i), each row's Gaussian width found by bisection
// so that the row's entropy is log(perplexity).
at::Tensor conditional_affinities(const at::Tensor& d2, double perplexity) {
  const std::int64_t n = d2.size(0);
  const at::Tensor off_diagonal = at::eye(n, d2.options().dtype(at::kBool)).logical_not();
  // Distances relative to each row's nearest neighbour (exp would underflow otherwise).
  const at::Tensor shifted = d2 - d2.masked_fill(off_diagonal.logical_not(), std::numeric_limits<double>::infinity())
                                      .amin(1, true);
  const double target = std::log(perplexity);
  at::Tensor beta = at::ones({n, 1}, d2.options());
  at::Tensor lo = at::zeros({n, 1}, d2.options());
  at::Tensor hi = at::full({n, 1}, std::numeric_limits<double>::infinity(), d2.options());
  at::Tensor p;
  for (int step = 0; step < 100; ++step) {
    p = at::exp(-shifted * beta) * off_diagonal;
    const at::Tensor sum = p.sum(1, true);
    const at::Tensor entropy = at::log(sum) + beta * (shifted * p).sum(1, true) / sum;
    const at::Tensor too_flat = entropy > target;  // too wide: raise beta
    lo = at::where(too_flat, beta, lo);
    hi = at::where(too_flat, hi, beta);
    beta = at::where(hi.isinf(), beta * 2, (lo + hi) / 2);
  }
  return p / p.sum(1, true);
}

}  // namespace

at::Tensor tsne(const at::Tensor& x, const TsneOptions& o) {
  const std::int64_t n = x.size(0);
  const auto opts = x.options().dtype(at::kDouble);
  if (n < 2) return at::zeros({n, o.dims}, opts);
  const double perplexity = std::max(1.0, std::min(o.perplexity, (static_cast<double>(n) - 1.0) / 3.0));
  at::Tensor p = conditional_affinities(squared_distances(x.to(at::kDouble)), perplexity);
  p = ((p + p.t()) / (2.0 * static_cast<double>(n))).clamp_min(1e-12);

  std::mt19937_64 rng(o.seed);
  std::normal_distribution<double> normal(0.0, 1e-4);
  std::vector<double> start(static_cast<std::size_t>(n * o.dims));
  for (double& v : start) v = normal(rng);
  at::Tensor y = at::tensor(start, opts).view({n, o.dims});
  at::Tensor update = at::zeros_like(y), gains = at::ones_like(y);

  const int exaggerated = std::min(250, o.iterations / 4);
  const double rate = std::max(static_cast<double>(n) / 12.0 / 4.0, 50.0);
  const at::Tensor diagonal = at::eye(n, opts.dtype(at::kBool));
  const at::Tensor exaggerated_p = p * 12.0;
  for (int it = 0; it < o.iterations; ++it) {
    const double momentum = it < exaggerated ? 0.5 : 0.8;
    // In place where possible: n x n temporaries dominate the time (allocation).
    at::Tensor num = squared_distances(y).add_(1.0).reciprocal_().masked_fill_(diagonal, 0.0);
    at::Tensor pq = (num / num.sum()).clamp_min_(1e-12);                      // q
    pq = at::sub(it < exaggerated ? exaggerated_p : p, pq).mul_(num);          // (p - q) num
    const at::Tensor grad = (pq.sum(1, true) * y - at::matmul(pq, y)).mul_(4.0);
    const at::Tensor same_sign = (grad > 0) == (update > 0);
    gains = at::where(same_sign, gains * 0.8, gains + 0.2).clamp_min(0.01);
    update = momentum * update - rate * gains * grad;
    y = y + update;
    y = y - y.mean(0, true);
  }
  return y;
}

}  // namespace attentionviz
