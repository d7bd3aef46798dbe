#pragma once
// Rank statistics between two sensitivity matrices (flattened layer x head):
// how far do two ablation kinds agree on which heads matter?
#include <vector>

namespace ablation_compare {

// Ranks 1..n, 1 = largest value; ties share their average rank (as
// scipy.stats.rankdata(-x, "average")). NaN values are not allowed.
std::vector<double> descending_ranks(const std::vector<double>& values);

// Spearman's rho: Pearson correlation of the average ranks (ties handled as
// scipy.stats.spearmanr). NaN when either side is constant.
double spearman(const std::vector<double>& a, const std::vector<double>& b);

// Kendall's tau-b (ties in either side corrected, as scipy.stats.kendalltau's
// default); O(n^2), n = layers x heads is small. NaN when either side is constant.
double kendall_tau_b(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace ablation_compare
