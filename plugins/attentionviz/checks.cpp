#include "checks.hpp"

#include <algorithm>
#include <limits>

namespace attentionviz {

std::vector<at::Tensor> patterns_from(const Tokens& tokens, const at::Tensor& q, const at::Tensor& k, double scale) {
  std::vector<at::Tensor> out;
  for (std::size_t b = 0; b + 1 < tokens.start.size(); ++b) {
    const auto s = tokens.start[b], n = tokens.length(b);
    const at::Tensor scores = at::matmul(q.narrow(0, s, n), k.narrow(0, s, n).t()) * scale;
    out.push_back(at::softmax(scores.masked_fill(tokens.allowed[b].logical_not(), -std::numeric_limits<double>::infinity()), 1));
  }
  return out;
}

double max_abs_difference(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, (a[i] - b[i].to(at::kDouble)).abs().max().item<double>());
  return worst;
}

double nearest_key_is_top(const Tokens& tokens, const HeadVectors& head, const at::Tensor& points) {
  const std::int64_t n_tokens = tokens.size();
  std::int64_t hits = 0;
  for (std::size_t b = 0; b + 1 < tokens.start.size(); ++b) {
    const auto s = tokens.start[b], n = tokens.length(b);
    const at::Tensor distance = at::cdist(points.narrow(0, s, n), points.narrow(0, n_tokens + s, n))
                                    .masked_fill(tokens.allowed[b].logical_not(), std::numeric_limits<double>::infinity());
    hits += (distance.argmin(1) == head.pattern[b].argmax(1)).sum().item<std::int64_t>();
  }
  return static_cast<double>(hits) / static_cast<double>(n_tokens);
}

std::vector<Edge> top_edges(const Tokens& tokens, const HeadVectors& head, int per_query, double min_weight) {
  std::vector<Edge> out;
  for (std::size_t b = 0; b + 1 < tokens.start.size(); ++b) {
    const auto s = tokens.start[b], n = tokens.length(b);
    const auto top = head.pattern[b].topk(std::min<std::int64_t>(per_query, n), 1);
    const at::Tensor weights = std::get<0>(top).contiguous(), keys = std::get<1>(top).contiguous();
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t r = 0; r < weights.size(1); ++r) {
        const double w = weights[i][r].item<double>();
        if (w >= min_weight) out.push_back({s + i, s + keys[i][r].item<std::int64_t>(), w});
      }
  }
  return out;
}

}  // namespace attentionviz
