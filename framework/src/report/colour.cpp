#include "report/colour.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mechlens::report {

namespace {
constexpr Rgb kBlue{33 / 255.0, 102 / 255.0, 172 / 255.0}, kRed{178 / 255.0, 24 / 255.0, 43 / 255.0};
}

std::uint8_t Rgb::byte(int channel) const {
  const double v = channel == 0 ? r : channel == 1 ? g : b;
  return static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
}

std::string Rgb::hex() const {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x", byte(0), byte(1), byte(2));
  return buffer;
}

Rgb mix(Rgb a, Rgb b, double t) {
  t = std::clamp(t, 0.0, 1.0);
  return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

Rgb categorical(int index) {
  static const unsigned palette[] = {0x4e79a7, 0xf28e2b, 0xe15759, 0x76b7b2, 0x59a14f,
                                     0xedc948, 0xb07aa1, 0xff9da7, 0x9c755f, 0xbab0ac};
  const unsigned c = palette[static_cast<unsigned>(std::max(index, 0)) % 10];
  return {((c >> 16) & 255) / 255.0, ((c >> 8) & 255) / 255.0, (c & 255) / 255.0};
}

ColourScale::ColourScale(double lo, double hi) : lo_(lo), hi_(hi) {
  if (!std::isfinite(lo_) || !std::isfinite(hi_)) lo_ = hi_ = 0.0;
  if (lo_ > hi_) std::swap(lo_, hi_);
  diverging_ = lo_ < 0.0 && hi_ > 0.0;
  extent_ = diverging_ ? std::max(-lo_, hi_) : std::max(std::abs(lo_), std::abs(hi_));
  if (diverging_) lo_ = -extent_, hi_ = extent_;  // white sits at 0, in the middle of the bar
}

ColourScale ColourScale::from(const std::vector<double>& values) {
  double lo = INFINITY, hi = -INFINITY;
  for (double v : values)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  return ColourScale(lo, hi);
}

Rgb ColourScale::at(double v) const {
  if (!std::isfinite(v)) return kGrey;
  if (extent_ == 0.0) return kWhite;
  if (diverging_) return v < 0 ? mix(kWhite, kBlue, -v / extent_) : mix(kWhite, kRed, v / extent_);
  // One sign: darker = larger magnitude (blue for negative-only scales).
  return lo_ >= 0.0 ? mix(kWhite, kRed, v / extent_) : mix(kWhite, kBlue, -v / extent_);
}

std::string short_number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", v);
  return buffer;
}

}  // namespace mechlens::report
