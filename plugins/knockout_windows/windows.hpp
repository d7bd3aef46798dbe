#pragma once
// Layer windows of knockout_windows: "F-L" (inclusive), "all", "seed" (the
// seed's five windows on LLaVA-1.5's 32 layers, 0-9, 5-14, 11-20, 15-24,
// 21-31, scaled to the model: first' = round(first n / 32), last' =
// round((last + 1) n / 32) - 1), and `width` + `stride` (every [s, s + width - 1]
// inside the model, s = 0, stride, 2 stride, ...). Duplicates dropped, order kept.
#include <string>
#include <vector>

namespace knockout_windows {

struct Window {
  int first = 0, last = 0;
  std::string label;  // "4-10", "all"
};

std::vector<Window> parse_windows(const std::vector<std::string>& specs, int width, int stride, int n_layers);

// "KEYS->QUERIES" (information flows from the key tokens to the query tokens).
struct EdgeSet {
  std::string keys, queries, label;
};
EdgeSet parse_edge_set(const std::string& spec);

}  // namespace knockout_windows
