#include "normalise.hpp"

#include <cmath>
#include <limits>

#include "mechlens/error.hpp"
#include "pairs.hpp"
#include "projection.hpp"

namespace attentionviz {

Transform transform_for(const HeadVectors& head, double scale) {
  return {scale, head.q.mean(0) * scale - head.k.mean(0) / scale};
}

at::Tensor joint(const at::Tensor& q, const at::Tensor& k) { return at::cat({q, k}, 0); }

double equal_norm_scale(const std::vector<const HeadVectors*>& heads) {
  // With s = 1/c^2 and k~ = k - mean(k): mean|q'| - mean|k'| has the sign of
  //   G(s) = sum|q| - sum|s k~ + mean(q)|,
  // convex-minus-constant in s, G(0) >= 0 (Jensen), G -> -inf: one root.
  double query_norms = 0.0;
  for (const auto* h : heads) query_norms += h->q.norm(2, 1).sum().item<double>();
  auto g = [&](double log_s) {
    const double s = std::exp(log_s);
    double key_norms = 0.0;
    for (const auto* h : heads)
      key_norms += ((h->k - h->k.mean(0, true)) * s + h->q.mean(0, true)).norm(2, 1).sum().item<double>();
    return query_norms - key_norms;
  };
  double lo = -80.0, hi = 80.0;
  if (g(lo) <= 0.0) return 1.0;  // every query identical: any c would do
  if (g(hi) > 0.0) mechlens::fail("attentionviz", "keys do not vary: no scale equalises the norms");
  for (int step = 0; step < 200 && hi - lo > 1e-12; ++step) {
    const double mid = 0.5 * (lo + hi);
    (g(mid) > 0.0 ? lo : hi) = mid;
  }
  return std::exp(-0.5 * (0.5 * (lo + hi)));  // c = s^(-1/2)
}

DistanceSpace parse_distance_space(const std::string& name) {
  if (name == "full") return DistanceSpace::full;
  if (name == "pca2") return DistanceSpace::pca2;
  mechlens::fail("attentionviz", "unknown distance space '" + name + "' (full, pca2)");
}

double max_correlation_scale(const Tokens& tokens, const std::vector<const HeadVectors*>& heads, double around,
                             DistanceSpace space, bool weighted) {
  std::vector<at::Tensor> dots, weights;
  for (const auto* h : heads) {
    dots.push_back(pair_dots(tokens, h->q, h->k));
    if (weighted) weights.push_back(pair_weights(tokens, *h));
  }
  const at::Tensor dot = at::cat(dots);
  const at::Tensor weight = weighted ? at::cat(weights) : at::Tensor();
  auto objective = [&](double c) {
    std::vector<at::Tensor> distances;
    for (const auto* h : heads) {
      const Transform t = transform_for(*h, c);
      at::Tensor points = joint(t.queries(*h), t.keys(*h));
      if (space == DistanceSpace::pca2) points = pca(points, 2);
      distances.push_back(pair_distances(tokens, points));
    }
    const double r = correlation(dot, at::cat(distances), weight);
    return std::isnan(r) ? std::numeric_limits<double>::infinity() : r;
  };
  // Coarse grid, then a finer one around the best point.
  double best_t = 0.0, best = objective(around);
  auto scan = [&](double from, double to, double step) {
    for (double t = from; t <= to + 1e-9; t += step) {
      const double r = objective(around * std::exp2(t));
      if (r < best) best = r, best_t = t;
    }
  };
  scan(-4.0, 4.0, 0.25);
  scan(best_t - 0.25, best_t + 0.25, 1.0 / 32.0);
  return around * std::exp2(best_t);
}

}  // namespace attentionviz
