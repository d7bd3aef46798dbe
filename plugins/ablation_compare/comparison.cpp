#include "comparison.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "rank_stats.hpp"

namespace ablation_compare {

std::vector<double> Comparison::importance(std::size_t kind, std::size_t input) const {
  const std::size_t at = (kind * inputs.size() + input) * cells();
  std::vector<double> out(values.begin() + at, values.begin() + at + cells());
  for (double& v : out) v = std::abs(v);
  return out;
}

std::vector<double> Comparison::mean_importance(std::size_t kind) const {
  std::vector<double> mean(cells(), 0.0);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<double> one = importance(kind, i);
    for (std::size_t c = 0; c < cells(); ++c) mean[c] += one[c] / static_cast<double>(inputs.size());
  }
  return mean;
}

std::vector<std::pair<std::size_t, std::size_t>> kind_pairs(std::size_t n_kinds) {
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  for (std::size_t a = 0; a < n_kinds; ++a)
    for (std::size_t b = a + 1; b < n_kinds; ++b) pairs.emplace_back(a, b);
  return pairs;
}

std::string pair_label(const Comparison& c, std::size_t a, std::size_t b) { return c.kinds[a] + "~" + c.kinds[b]; }

Statistics compute_statistics(const Comparison& c) {
  Statistics s;
  const std::size_t K = c.kinds.size(), N = c.inputs.size(), C = c.cells();
  const auto pairs = kind_pairs(K);
  s.ranks.assign(K * N * C, 0.0);
  s.rank_shift.assign(N * C, 0.0);
  s.negligible_share.assign(K * N, 0.0);
  s.negligible_share_all_kinds.assign(N, 0.0);
  s.negligible_everywhere.assign(C, 1);
  for (std::size_t i = 0; i < N; ++i) {
    std::vector<std::vector<double>> imp(K);
    for (std::size_t k = 0; k < K; ++k) {
      imp[k] = c.importance(k, i);
      const std::vector<double> r = descending_ranks(imp[k]);
      std::copy(r.begin(), r.end(), s.ranks.begin() + (k * N + i) * C);
    }
    for (const auto& [a, b] : pairs) {
      s.spearman.push_back(spearman(imp[a], imp[b]));
      s.kendall.push_back(kendall_tau_b(imp[a], imp[b]));
    }
    std::size_t all_kinds = 0;
    for (std::size_t cell = 0; cell < C; ++cell) {
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      bool everywhere = true;
      for (std::size_t k = 0; k < K; ++k) {
        const double r = s.ranks[(k * N + i) * C + cell];
        lo = std::min(lo, r), hi = std::max(hi, r);
        const bool small = imp[k][cell] < c.threshold;
        if (small) s.negligible_share[k * N + i] += 1.0 / static_cast<double>(C);
        everywhere = everywhere && small;
      }
      s.rank_shift[i * C + cell] = hi - lo;
      if (everywhere) ++all_kinds;
      else s.negligible_everywhere[cell] = 0;
    }
    s.negligible_share_all_kinds[i] = static_cast<double>(all_kinds) / static_cast<double>(C);
  }
  std::vector<std::vector<double>> mean(K);
  for (std::size_t k = 0; k < K; ++k) {
    mean[k] = c.mean_importance(k);
    const auto top = std::max_element(mean[k].begin(), mean[k].end()) - mean[k].begin();
    s.top_layer.push_back(top / c.n_heads);
    s.top_head.push_back(top % c.n_heads);
  }
  for (const auto& [a, b] : pairs) {
    s.spearman_mean.push_back(spearman(mean[a], mean[b]));
    s.kendall_mean.push_back(kendall_tau_b(mean[a], mean[b]));
  }
  return s;
}

namespace {

// The kinds' matrices in one heat map: columns kind 0's heads, a blank
// (NaN) column, kind 1's heads, ...; one colour scale for all.
mechlens::HeatmapFigure side_by_side(const Comparison& c, const std::string& name, const std::string& title,
                                     const std::vector<std::vector<double>>& per_kind) {
  mechlens::HeatmapFigure f;
  f.name = name;
  f.title = title;
  f.rows = c.n_layers;
  const int K = static_cast<int>(per_kind.size());
  f.cols = K * c.n_heads + (K - 1);
  f.values.assign(static_cast<std::size_t>(f.rows) * f.cols, std::nan(""));
  for (int k = 0; k < K; ++k)
    for (int l = 0; l < c.n_layers; ++l)
      for (int h = 0; h < c.n_heads; ++h)
        f.values[static_cast<std::size_t>(l) * f.cols + k * (c.n_heads + 1) + h] = per_kind[k][l * c.n_heads + h];
  for (int k = 0; k < K; ++k) {
    for (int h = 0; h < c.n_heads; ++h) f.col_names.push_back(h == 0 ? c.kinds[k] + " 0" : std::to_string(h));
    if (k + 1 < K) f.col_names.push_back("");
  }
  f.col_label = "head, per ablation kind (" + [&] {
    std::string s;
    for (const auto& kind : c.kinds) s += (s.empty() ? "" : " | ") + kind;
    return s;
  }() + ")";
  return f;
}

}  // namespace

void draw(mechlens::Figures& figures, const Comparison& c) {
  const std::size_t K = c.kinds.size(), N = c.inputs.size(), C = c.cells();
  const std::string what = "|" + c.metric + "|";
  for (std::size_t i = 0; i < N; ++i) {
    std::vector<std::vector<double>> per_kind;
    for (std::size_t k = 0; k < K; ++k) per_kind.push_back(c.importance(k, i));
    figures.heatmap(side_by_side(c, "kinds_" + c.inputs[i], what + " by ablation kind, input " + c.inputs[i], per_kind));
  }
  std::vector<std::vector<double>> mean;
  for (std::size_t k = 0; k < K; ++k) mean.push_back(c.mean_importance(k));
  if (N > 1)
    figures.heatmap(side_by_side(c, "kinds_mean", what + " by ablation kind, mean of " + std::to_string(N) + " inputs", mean));

  // Zero vs identity: one point per (input, head), coloured by input.
  const auto zero = std::find(c.kinds.begin(), c.kinds.end(), "zero");
  const auto identity = std::find(c.kinds.begin(), c.kinds.end(), "identity");
  if (zero == c.kinds.end() || identity == c.kinds.end()) return;
  mechlens::ScatterFigure s;
  s.name = "scatter_zero_vs_identity";
  s.title = what + ": zero vs identity ablation, one point per head and input";
  s.x_label = what + " (zero)";
  s.y_label = what + " (identity)";
  s.group_names = c.inputs;
  for (std::size_t i = 0; i < N; ++i) {
    const std::vector<double> x = c.importance(zero - c.kinds.begin(), i);
    const std::vector<double> y = c.importance(identity - c.kinds.begin(), i);
    for (std::size_t cell = 0; cell < C; ++cell) {
      if (std::isnan(x[cell]) || std::isnan(y[cell])) continue;  // a layer not swept
      s.x.push_back(x[cell]);
      s.y.push_back(y[cell]);
      s.group.push_back(static_cast<int>(i));
      s.labels.push_back("L" + std::to_string(cell / c.n_heads) + "H" + std::to_string(cell % c.n_heads));
    }
  }
  figures.scatter(s);
}

}  // namespace ablation_compare
