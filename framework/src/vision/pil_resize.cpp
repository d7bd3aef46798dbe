// PIL-exact resampling of 8-bit RGB images. Every constant and rounding step
// follows Pillow's src/libImaging/Resample.c (precompute_coeffs,
// normalize_coeffs_8bpc, ImagingResampleHorizontal_8bpc/Vertical_8bpc,
// ImagingResampleInner), so results equal Image.resize to the last bit.
#include "vision/pil_resize.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <ATen/Parallel.h>

#include "mechlens/error.hpp"

namespace mechlens::vision {
namespace {

constexpr double kPi = 3.14159265358979323846;  // M_PI

struct Filter {
  double (*weight)(double);
  double support;
};

double box_weight(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }

double bilinear_weight(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

double hamming_weight(double x) {
  x = std::fabs(x);
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x *= kPi;
  // Pillow writes the window with float literals (0.54f, 0.46f); keep them.
  return std::sin(x) / x * (double(0.54f) + double(0.46f) * std::cos(x));
}

// Keys' cubic convolution with a = -0.5 (Pillow's bicubic_filter).
double bicubic_weight(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= kPi;
  return std::sin(x) / x;
}

double lanczos_weight(double x) { return (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3) : 0.0; }

Filter filter_of(Resample r) {
  switch (r) {
    case Resample::box: return {box_weight, 0.5};
    case Resample::bilinear: return {bilinear_weight, 1.0};
    case Resample::hamming: return {hamming_weight, 1.0};
    case Resample::bicubic: return {bicubic_weight, 2.0};
    case Resample::lanczos: return {lanczos_weight, 3.0};
    case Resample::nearest: break;
  }
  fail("pil_resize", "nearest resampling is not supported");
}

// 8 bits of result, 2 bits of headroom for negative lobes and overshoot.
constexpr int kPrecisionBits = 32 - 8 - 2;

// One output position's taps: input start and the fixed-point weights.
struct Taps {
  int ksize = 0;
  std::vector<int> first;    // first input index per output position
  std::vector<int> count;    // taps used per output position
  std::vector<std::int32_t> weights;  // out_size * ksize, fixed point
};

// precompute_coeffs + normalize_coeffs_8bpc for the default box (0, in_size).
Taps compute_taps(int in_size, int out_size, const Filter& filter) {
  const float in0 = 0.0f, in1 = float(in_size);  // the box is float[4] in Pillow
  const double scale = double(in1 - in0) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;  // widen only when shrinking
  const double support = filter.support * filterscale;
  Taps t;
  t.ksize = int(std::ceil(support)) * 2 + 1;
  t.first.resize(out_size);
  t.count.resize(out_size);
  t.weights.assign(std::size_t(out_size) * t.ksize, 0);
  std::vector<double> w(t.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = int(center - support + 0.5);  // C truncation, as Pillow's "(int)" rounds
    if (xmin < 0) xmin = 0;
    int xmax = int(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      w[x] = filter.weight((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    std::int32_t* k = &t.weights[std::size_t(xx) * t.ksize];
    for (int x = 0; x < xmax; ++x) {
      const double v = ww != 0.0 ? w[x] / ww : w[x];
      // Round half away from zero into 22 fractional bits.
      k[x] = v < 0 ? std::int32_t(-0.5 + v * (1 << kPrecisionBits)) : std::int32_t(0.5 + v * (1 << kPrecisionBits));
    }
    t.first[xx] = xmin;
    t.count[xx] = xmax;
  }
  return t;
}

inline std::uint8_t clip8(std::int32_t acc) {
  const std::int32_t v = acc >> kPrecisionBits;  // arithmetic shift: floor
  return std::uint8_t(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// Rows [row0, row0 + out.height) of `in`, resampled along x into `out`.
void horizontal_pass(const RgbImage& in, int row0, const Taps& t, RgbImage& out) {
  // Rows are independent: split them across threads (same arithmetic per pixel).
  at::parallel_for(0, out.height, 16, [&](std::int64_t begin, std::int64_t end) {
    for (int yy = int(begin); yy < int(end); ++yy) {
      const std::uint8_t* src = in.row(yy + row0);
      std::uint8_t* dst = out.row(yy);
      for (int xx = 0; xx < out.width; ++xx) {
        const std::int32_t* k = &t.weights[std::size_t(xx) * t.ksize];
        const std::uint8_t* p = src + std::size_t(t.first[xx]) * 3;
        std::int32_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;  // +0.5 before the floor
        for (int x = 0; x < t.count[xx]; ++x, p += 3) {
          s0 += p[0] * k[x];
          s1 += p[1] * k[x];
          s2 += p[2] * k[x];
        }
        dst[xx * 3 + 0] = clip8(s0);
        dst[xx * 3 + 1] = clip8(s1);
        dst[xx * 3 + 2] = clip8(s2);
      }
    }
  });
}

// Resampled along y; `first` indices are relative to in's row 0 minus `row0`.
void vertical_pass(const RgbImage& in, int row0, const Taps& t, RgbImage& out) {
  const std::size_t stride = std::size_t(in.width) * 3;
  at::parallel_for(0, out.height, 16, [&](std::int64_t begin, std::int64_t end) {
    for (int yy = int(begin); yy < int(end); ++yy) {
      const std::int32_t* k = &t.weights[std::size_t(yy) * t.ksize];
      const std::uint8_t* base = in.row(t.first[yy] - row0);
      std::uint8_t* dst = out.row(yy);
      for (std::size_t i = 0; i < stride; ++i) {
        std::int32_t s = 1 << (kPrecisionBits - 1);
        const std::uint8_t* p = base + i;
        for (int y = 0; y < t.count[yy]; ++y, p += stride) s += *p * k[y];
        dst[i] = clip8(s);
      }
    }
  });
}

}  // namespace

Resample resample_from_code(int code, const std::string& where) {
  switch (code) {
    case 1: return Resample::lanczos;
    case 2: return Resample::bilinear;
    case 3: return Resample::bicubic;
    case 4: return Resample::box;
    case 5: return Resample::hamming;
    case 0: fail(where, "resample 0 (nearest) is not supported");
    default: fail(where, "unknown PIL resample code " + std::to_string(code));
  }
}

const char* resample_name(Resample r) {
  switch (r) {
    case Resample::nearest: return "nearest";
    case Resample::lanczos: return "lanczos";
    case Resample::bilinear: return "bilinear";
    case Resample::bicubic: return "bicubic";
    case Resample::box: return "box";
    case Resample::hamming: return "hamming";
  }
  return "?";
}

RgbImage pil_resize(const RgbImage& image, int width, int height, Resample resample) {
  if (width <= 0 || height <= 0)
    fail("pil_resize", "target size " + std::to_string(width) + "x" + std::to_string(height) + " is not positive");
  if (image.width <= 0 || image.height <= 0) fail("pil_resize", "empty input image");
  if (width == image.width && height == image.height) return image;  // Image.resize returns a copy
  const Filter filter = filter_of(resample);
  const bool need_horizontal = width != image.width;
  const bool need_vertical = height != image.height;

  const Taps vert = compute_taps(image.height, height, filter);
  // Only the input rows the vertical pass reads go through the horizontal pass.
  const int row_first = vert.first[0];
  const int row_last = vert.first[height - 1] + vert.count[height - 1];

  if (!need_vertical) {
    RgbImage out(image.height, width);
    horizontal_pass(image, 0, compute_taps(image.width, width, filter), out);
    return out;
  }
  RgbImage out(height, need_horizontal ? width : image.width);
  if (need_horizontal) {
    RgbImage temp(row_last - row_first, width);
    horizontal_pass(image, row_first, compute_taps(image.width, width, filter), temp);
    vertical_pass(temp, row_first, vert, out);
  } else {
    vertical_pass(image, 0, vert, out);
  }
  return out;
}

}  // namespace mechlens::vision
