#include "report/heatmap.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>

#include "mechlens/error.hpp"

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#include <stb/stb_easy_font.h>

namespace mechlens::report {

namespace {

struct Rgb {
  std::uint8_t r, g, b;
};

class Canvas {
 public:
  Canvas(int width, int height) : width_(width), height_(height), pixels_(width * height * 3, 255) {}

  void fill(int x0, int y0, int w, int h, Rgb c) {
    for (int y = std::max(0, y0); y < std::min(height_, y0 + h); ++y)
      for (int x = std::max(0, x0); x < std::min(width_, x0 + w); ++x) {
        std::uint8_t* p = &pixels_[(y * width_ + x) * 3];
        p[0] = c.r, p[1] = c.g, p[2] = c.b;
      }
  }

  // stb_easy_font emits axis-aligned quads (4 vertices of 16 bytes each).
  void text(int x, int y, const std::string& s, int scale = 1) {
    static char buffer[60000];
    const int quads = stb_easy_font_print(0, 0, const_cast<char*>(s.c_str()), nullptr, buffer, sizeof buffer);
    for (int q = 0; q < quads; ++q) {
      const float* v0 = reinterpret_cast<const float*>(buffer + q * 64);
      const float* v2 = reinterpret_cast<const float*>(buffer + q * 64 + 32);
      fill(x + static_cast<int>(v0[0]) * scale, y + static_cast<int>(v0[1]) * scale,
           static_cast<int>(v2[0] - v0[0]) * scale, static_cast<int>(v2[1] - v0[1]) * scale, {0, 0, 0});
    }
  }
  static int text_width(const std::string& s, int scale = 1) {
    return stb_easy_font_width(const_cast<char*>(s.c_str())) * scale;
  }

  void save(const std::string& path) const {
    if (!stbi_write_png(path.c_str(), width_, height_, 3, pixels_.data(), width_ * 3))
      fail(path, "cannot write PNG");
  }

 private:
  int width_, height_;
  std::vector<std::uint8_t> pixels_;
};

Rgb mix(Rgb a, Rgb b, double t) {
  t = std::clamp(t, 0.0, 1.0);
  auto lerp = [t](std::uint8_t x, std::uint8_t y) { return static_cast<std::uint8_t>(std::lround(x + (y - x) * t)); };
  return {lerp(a.r, b.r), lerp(a.g, b.g), lerp(a.b, b.b)};
}

constexpr Rgb kWhite{255, 255, 255}, kBlue{33, 102, 172}, kRed{178, 24, 43}, kGrey{200, 200, 200};

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace

void write_heatmap_png(const std::string& path, const Heatmap& map) {
  if (map.rows <= 0 || map.cols <= 0 || map.values.size() != static_cast<std::size_t>(map.rows) * map.cols)
    fail(path, "heat map of " + std::to_string(map.rows) + "x" + std::to_string(map.cols) + " with " +
                   std::to_string(map.values.size()) + " values");
  double lo = INFINITY, hi = -INFINITY;
  for (double v : map.values)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) lo = hi = 0.0;
  const bool diverging = lo < 0.0 && hi > 0.0;
  const double extent = diverging ? std::max(-lo, hi) : std::max(std::abs(lo), std::abs(hi));
  auto colour = [&](double v) -> Rgb {
    if (!std::isfinite(v)) return kGrey;
    if (extent == 0.0) return kWhite;
    if (diverging) return v < 0 ? mix(kWhite, kBlue, -v / extent) : mix(kWhite, kRed, v / extent);
    // One sign: darker = larger magnitude (blue for negative-only maps).
    return lo >= 0.0 ? mix(kWhite, kRed, (v - 0.0) / extent) : mix(kWhite, kBlue, -v / extent);
  };

  const int cell = std::clamp(640 / std::max(map.rows, map.cols), 6, 40);
  const int left = 70, top = 40, bar = 16;
  // Wide enough for the title even when the matrix is small (a 2-layer toy).
  const int width = std::max(left + map.cols * cell + 30 + bar + 70, 10 + Canvas::text_width(map.title, 2) + 10);
  const int height = top + map.rows * cell + 50;
  Canvas canvas(width, height);
  canvas.text(10, 10, map.title, 2);

  for (int r = 0; r < map.rows; ++r)
    for (int c = 0; c < map.cols; ++c)
      canvas.fill(left + c * cell, top + r * cell, cell, cell, colour(map.values[r * map.cols + c]));

  // Tick labels, thinned so they never overlap.
  const int row_step = std::max(1, 12 / cell + 1), col_step = std::max(1, 24 / cell + 1);
  for (int r = 0; r < map.rows; r += row_step)
    canvas.text(left - 8 - Canvas::text_width(std::to_string(r)), top + r * cell + cell / 2 - 3, std::to_string(r));
  for (int c = 0; c < map.cols; c += col_step)
    canvas.text(left + c * cell + cell / 2 - 3, top + map.rows * cell + 6, std::to_string(c));
  canvas.text(left + map.cols * cell / 2 - Canvas::text_width(map.col_label), top + map.rows * cell + 24, map.col_label, 2);
  canvas.text(4, top + map.rows * cell / 2, map.row_label, 2);

  // Colour bar with its range.
  const int bx = left + map.cols * cell + 30, bh = map.rows * cell;
  const double bar_lo = diverging ? -extent : lo, bar_hi = diverging ? extent : hi;
  for (int y = 0; y < bh; ++y)
    canvas.fill(bx, top + y, bar, 1, colour(bar_hi - (bar_hi - bar_lo) * y / std::max(1, bh - 1)));
  canvas.text(bx + bar + 4, top, number(bar_hi));
  canvas.text(bx + bar + 4, top + bh - 8, number(bar_lo));
  canvas.save(path);
}

}  // namespace mechlens::report
