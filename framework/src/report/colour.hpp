#pragma once
// Colours and colour scales shared by every figure (and the HTML report).
#include <cstdint>
#include <string>
#include <vector>

namespace mechlens::report {

struct Rgb {
  double r = 0, g = 0, b = 0;  // 0..1
  std::uint8_t byte(int channel) const;
  std::string hex() const;  // "#rrggbb"
};

inline constexpr Rgb kBlack{0, 0, 0};
inline constexpr Rgb kWhite{1, 1, 1};
inline constexpr Rgb kGrey{200 / 255.0, 200 / 255.0, 200 / 255.0};  // not computed
inline constexpr Rgb kAxis{0.35, 0.35, 0.35};

Rgb mix(Rgb a, Rgb b, double t);
// Distinct colours for series and groups (Tableau 10).
Rgb categorical(int index);

// Values → colour: diverging blue-white-red around 0 when both signs occur
// in the range, sequential white → red (white → blue for negative-only) otherwise.
class ColourScale {
 public:
  ColourScale(double lo, double hi);
  static ColourScale from(const std::vector<double>& values);  // range of the finite values
  Rgb at(double value) const;                                  // NaN → kGrey
  double lo() const { return lo_; }
  double hi() const { return hi_; }

 private:
  double lo_, hi_, extent_;
  bool diverging_;
};

std::string short_number(double v);  // "%.3g"

}  // namespace mechlens::report
