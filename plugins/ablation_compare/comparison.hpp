#pragma once
// What the run computes and the report reads back: the sensitivity values
// under each ablation kind, and the statistics between kinds.
#include <cstdint>
#include <string>
#include <vector>

#include "mechlens/figures.hpp"

namespace ablation_compare {

struct Comparison {
  std::string metric;                // sensitivity_matrix's metric name
  std::vector<std::string> kinds;    // e.g. zero, identity, mean, dataset_mean
  std::vector<std::string> inputs;   // input ids
  int n_layers = 0, n_heads = 0;
  std::vector<double> values;        // [kind, input, layer, head]; NaN = not computed
  double threshold = 0.0;

  std::size_t cells() const { return static_cast<std::size_t>(n_layers) * n_heads; }
  // |value| of one (kind, input) as a layer x head vector.
  std::vector<double> importance(std::size_t kind, std::size_t input) const;
  // Mean over inputs of |value| for one kind.
  std::vector<double> mean_importance(std::size_t kind) const;
};

// Pairs of kinds in order (a < b), and their labels "a~b".
std::vector<std::pair<std::size_t, std::size_t>> kind_pairs(std::size_t n_kinds);
std::string pair_label(const Comparison& c, std::size_t a, std::size_t b);

struct Statistics {
  std::vector<double> spearman, kendall;            // [input, pair]
  std::vector<double> spearman_mean, kendall_mean;  // [pair], on the mean |value| over inputs
  std::vector<double> ranks;                        // [kind, input, layer, head], 1 = most important
  std::vector<double> rank_shift;                   // [input, layer, head], max - min rank over kinds
  std::vector<double> negligible_share;             // [kind, input]: share of heads with |v| < threshold
  std::vector<double> negligible_share_all_kinds;   // [input]: |v| < threshold under every kind
  std::vector<std::int64_t> negligible_everywhere;  // [layer, head]: every kind, every input
  std::vector<std::int64_t> top_layer, top_head;    // [kind]: argmax of the mean |value|
};
Statistics compute_statistics(const Comparison& c);

// The pictures, for the run's files and the report page alike: per input and
// for the mean over inputs, the kinds' layer x head matrices side by side in
// one heat map (shared colour scale), and the zero-vs-identity scatter.
void draw(mechlens::Figures& figures, const Comparison& c);

}  // namespace ablation_compare
