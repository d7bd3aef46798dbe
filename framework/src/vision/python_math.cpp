#include "vision/python_math.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace mechlens::vision {

double python_floordiv(double a, double b) {
  // float_floor_div: divmod on the exact remainder, then the quotient snapped to an integer.
  double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0.0) {
    if ((b < 0) != (mod < 0)) {
      mod += b;
      div -= 1.0;
    }
  }
  if (div != 0.0) {
    double floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
    return floordiv;
  }
  return std::copysign(0.0, a / b);
}

double python_round(double x, int ndigits) {
  if (!std::isfinite(x)) return x;
  // glibc's printf converts the exact binary value and rounds half to even,
  // as CPython's _Py_dg_dtoa(mode 3) does; strtod reads it back correctly rounded.
  char buf[512];
  std::snprintf(buf, sizeof buf, "%.*f", ndigits, x);
  return std::strtod(buf, nullptr);
}

}  // namespace mechlens::vision
