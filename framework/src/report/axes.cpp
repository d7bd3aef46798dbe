#include "report/axes.hpp"

#include <algorithm>
#include <cmath>

namespace mechlens::report {

Range Range::of(const std::vector<double>& values, bool log) {
  double lo = INFINITY, hi = -INFINITY;
  for (double v : values)
    if (std::isfinite(v) && (!log || v > 0)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) return log ? Range{1, 10} : Range{0, 1};
  if (log) return {lo / 1.5, hi * 1.5};
  const double pad = hi > lo ? (hi - lo) * 0.05 : std::max(std::abs(lo) * 0.1, 0.5);
  return {lo - pad, hi + pad};
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> ticks;
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw) { step = m * magnitude; break; }
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

Frame::Frame(double left, double top, double width, double height, Range x, Range y, bool log_y)
    : left_(left), top_(top), width_(width), height_(height), x_(x), y_(y), log_y_(log_y) {}

double Frame::px(double x) const { return left_ + (x - x_.lo) / (x_.hi - x_.lo) * width_; }

double Frame::py(double y) const {
  const double t = log_y_ ? (std::log10(y) - std::log10(y_.lo)) / (std::log10(y_.hi) - std::log10(y_.lo))
                          : (y - y_.lo) / (y_.hi - y_.lo);
  return top_ + height_ - t * height_;
}

bool Frame::inside(double x, double y) const {
  return std::isfinite(x) && std::isfinite(y) && (!log_y_ || y > 0);
}

void Frame::draw(Canvas& canvas, const std::string& x_label, const std::string& y_label,
                 const std::vector<double>& x_ticks_at, const std::vector<std::string>& x_names) const {
  const Rgb grid{0.9, 0.9, 0.9};
  std::vector<double> y_ticks;
  if (log_y_) {
    for (double p = std::floor(std::log10(y_.lo)); p <= std::ceil(std::log10(y_.hi)); ++p) {
      const double v = std::pow(10.0, p);
      if (v >= y_.lo && v <= y_.hi) y_ticks.push_back(v);
    }
  } else {
    y_ticks = nice_ticks(y_.lo, y_.hi);
  }
  for (double t : y_ticks) {
    canvas.line(left_, py(t), left_ + width_, py(t), grid);
    canvas.text(left_ - 6, py(t) + 4, short_number(t), 11, Align::right);
  }
  const std::vector<double> x_ticks = x_ticks_at.empty() ? nice_ticks(x_.lo, x_.hi) : x_ticks_at;
  const int step = std::max<int>(1, static_cast<int>(x_ticks.size()) / 16 + 1);
  for (std::size_t i = 0; i < x_ticks.size(); i += step) {
    const double t = x_ticks[i];
    if (t < x_.lo || t > x_.hi) continue;
    canvas.line(px(t), top_, px(t), top_ + height_, grid);
    const auto k = static_cast<std::size_t>(std::llround(t));
    const std::string name = !x_names.empty() && k < x_names.size() ? x_names[k] : short_number(t);
    canvas.text(px(t), top_ + height_ + 15, name, 11, Align::centre);
  }
  canvas.stroke_rect(left_, top_, width_, height_, kAxis);
  canvas.text(left_ + width_ / 2, top_ + height_ + 34, x_label, 13, Align::centre);
  canvas.text(left_ - 48, top_ + height_ / 2, y_label, 13, Align::centre, kBlack, false, 90);
}

}  // namespace mechlens::report
