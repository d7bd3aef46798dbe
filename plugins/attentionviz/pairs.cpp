#include "pairs.hpp"

#include <cmath>

namespace attentionviz {

at::Tensor over_pairs(const Tokens& tokens, const std::function<at::Tensor(std::size_t b)>& block) {
  std::vector<at::Tensor> parts;
  for (std::size_t b = 0; b + 1 < tokens.start.size(); ++b) parts.push_back(block(b).masked_select(tokens.allowed[b]));
  return at::cat(parts);
}

at::Tensor pair_dots(const Tokens& tokens, const at::Tensor& q, const at::Tensor& k) {
  return over_pairs(tokens, [&](std::size_t b) {
    const auto s = tokens.start[b], n = tokens.length(b);
    return at::matmul(q.narrow(0, s, n), k.narrow(0, s, n).t());
  });
}

at::Tensor pair_distances(const Tokens& tokens, const at::Tensor& points) {
  const std::int64_t n_tokens = tokens.size();
  return over_pairs(tokens, [&](std::size_t b) {
    const auto s = tokens.start[b], n = tokens.length(b);
    const at::Tensor q = points.narrow(0, s, n), k = points.narrow(0, n_tokens + s, n);
    // |q - k|^2 expanded; clamped at 0 against rounding.
    const at::Tensor d2 = q.pow(2).sum(1, true) + k.pow(2).sum(1).unsqueeze(0) - 2 * at::matmul(q, k.t());
    return d2.clamp_min(0).sqrt();
  });
}

at::Tensor pair_weights(const Tokens& tokens, const HeadVectors& head) {
  return over_pairs(tokens, [&](std::size_t b) { return head.pattern[b]; });
}

double correlation(const at::Tensor& x, const at::Tensor& y, const at::Tensor& w) {
  const at::Tensor weights = w.defined() ? w / w.sum() : at::full_like(x, 1.0 / static_cast<double>(x.numel()));
  const at::Tensor dx = x - (weights * x).sum(), dy = y - (weights * y).sum();
  const double cov = (weights * dx * dy).sum().item<double>();
  const double vx = (weights * dx * dx).sum().item<double>(), vy = (weights * dy * dy).sum().item<double>();
  if (vx <= 0.0 || vy <= 0.0) return std::nan("");
  return cov / std::sqrt(vx * vy);
}

}  // namespace attentionviz
