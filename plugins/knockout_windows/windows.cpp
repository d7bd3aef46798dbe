#include "windows.hpp"

#include <cmath>
#include <cstdlib>

#include "mechlens/error.hpp"
#include "mechlens/token_sets.hpp"

namespace knockout_windows {

using mechlens::fail;

namespace {

const char* const kWhere = "knockout_windows: windows";

void add(std::vector<Window>& out, int first, int last, const std::string& label) {
  for (const Window& w : out)
    if (w.first == first && w.last == last) return;
  out.push_back({first, last, label});
}

std::string range_label(int first, int last) { return std::to_string(first) + "-" + std::to_string(last); }

}  // namespace

std::vector<Window> parse_windows(const std::vector<std::string>& specs, int width, int stride, int n) {
  std::vector<Window> out;
  for (const std::string& s : specs) {
    if (s == "all") {
      add(out, 0, n - 1, "all");
    } else if (s == "seed") {
      static const int seed[5][2] = {{0, 9}, {5, 14}, {11, 20}, {15, 24}, {21, 31}};
      for (const auto& w : seed) {
        const int first = static_cast<int>(std::lround(w[0] * n / 32.0));
        const int last = std::max(first, static_cast<int>(std::lround((w[1] + 1) * n / 32.0)) - 1);
        add(out, first, std::min(last, n - 1), range_label(first, std::min(last, n - 1)));
      }
    } else {
      const std::size_t dash = s.find('-');
      char* end = nullptr;
      const long first = std::strtol(s.c_str(), &end, 10);
      const bool ok_first = dash != std::string::npos && end == s.c_str() + dash;
      const long last = ok_first ? std::strtol(s.c_str() + dash + 1, &end, 10) : -1;
      if (!ok_first || *end != '\0' || dash + 1 == s.size())
        fail(kWhere, "'" + s + "' is not a window: \"first-last\" (layers, inclusive), \"all\" or \"seed\"");
      if (first < 0 || last >= n || first > last)
        fail(kWhere, "'" + s + "' is not a window of the model's layers 0.." + std::to_string(n - 1));
      add(out, static_cast<int>(first), static_cast<int>(last), range_label(static_cast<int>(first), static_cast<int>(last)));
    }
  }
  if (width > 0) {
    if (stride < 1) fail("knockout_windows: stride", "must be at least 1 with a width");
    if (width > n) fail("knockout_windows: width", std::to_string(width) + " is wider than the model's " + std::to_string(n) + " layers");
    for (int s = 0; s + width <= n; s += stride) add(out, s, s + width - 1, range_label(s, s + width - 1));
  }
  if (out.empty()) fail(kWhere, "no windows: give windows, or width and stride");
  return out;
}

EdgeSet parse_edge_set(const std::string& spec) {
  const std::size_t arrow = spec.find("->");
  if (arrow == std::string::npos || arrow == 0 || arrow + 2 >= spec.size())
    fail("knockout_windows: edge_sets", "'" + spec + "' is not an edge set: \"KEYS->QUERIES\", e.g. \"object->last\"");
  EdgeSet e{spec.substr(0, arrow), spec.substr(arrow + 2), spec};
  mechlens::check_token_set_spec(e.keys, "knockout_windows: edge_sets '" + spec + "'");
  mechlens::check_token_set_spec(e.queries, "knockout_windows: edge_sets '" + spec + "'");
  return e;
}

}  // namespace knockout_windows
