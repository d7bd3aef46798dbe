#pragma once
// A plotting frame shared by line and scatter plots: data ranges, ticks and
// the mapping from data to pixels.
#include <string>
#include <vector>

#include "report/canvas.hpp"

namespace mechlens::report {

struct Range {
  double lo = 0, hi = 1;
  static Range of(const std::vector<double>& values, bool log = false);  // finite values, padded
};

// "Nice" tick positions (1, 2, 5 x 10^k steps) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

class Frame {
 public:
  Frame(double left, double top, double width, double height, Range x, Range y, bool log_y = false);
  double px(double x) const;
  double py(double y) const;
  bool inside(double x, double y) const;
  // Axes, grid lines, tick labels and axis labels. `x_names`: labels at x = 0, 1, ...
  void draw(Canvas& canvas, const std::string& x_label, const std::string& y_label,
            const std::vector<double>& x_ticks_at = {}, const std::vector<std::string>& x_names = {}) const;

 private:
  double left_, top_, width_, height_;
  Range x_, y_;
  bool log_y_;
};

}  // namespace mechlens::report
