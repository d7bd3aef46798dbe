#include "rank_stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ablation_compare {

std::vector<double> descending_ranks(const std::vector<double>& values) {
  const std::size_t n = values.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] > values[b]; });
  std::vector<double> ranks(n);
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j + 1 < n && values[order[j + 1]] == values[order[i]]) ++j;
    const double average = (static_cast<double>(i + 1) + static_cast<double>(j + 1)) / 2.0;
    for (std::size_t k = i; k <= j; ++k) ranks[order[k]] = average;
    i = j + 1;
  }
  return ranks;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const std::vector<double> ra = descending_ranks(a), rb = descending_ranks(b);
  const double n = static_cast<double>(ra.size());
  const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n, mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double sab = 0.0, saa = 0.0, sbb = 0.0;
  for (std::size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  if (saa == 0.0 || sbb == 0.0) return std::nan("");
  return sab / std::sqrt(saa * sbb);
}

double kendall_tau_b(const std::vector<double>& a, const std::vector<double>& b) {
  // concordant - discordant over sqrt((n0 - ties_a) (n0 - ties_b)).
  double concordant_minus_discordant = 0.0, untied_a = 0.0, untied_b = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = i + 1; j < a.size(); ++j) {
      const double da = a[i] - a[j], db = b[i] - b[j];
      if (da != 0.0) untied_a += 1.0;
      if (db != 0.0) untied_b += 1.0;
      if (da != 0.0 && db != 0.0) concordant_minus_discordant += (da > 0) == (db > 0) ? 1.0 : -1.0;
    }
  if (untied_a == 0.0 || untied_b == 0.0) return std::nan("");
  return concordant_minus_discordant / std::sqrt(untied_a * untied_b);
}

}  // namespace ablation_compare
