#include "models/llava_onevision/llava_patch_extents.hpp"

#include <algorithm>
#include <cmath>

#include "mechlens/error.hpp"

namespace mechlens::models::llava_onevision {

namespace {

// Canvas pixel where fractional canvas patch index R starts (start = true) or
// where the patch before R ends (start = false): a tile's patches are P apart,
// tiles S apart.
double canvas_pixel(double R, bool start, int side, int tile, int patch) {
  const double t = start ? std::floor(R / side) : std::max(0.0, std::ceil(R / side) - 1);
  return t * tile + (R - t * side) * patch;
}

// Canvas pixel interval → original pixel interval (clipped to the image).
std::pair<double, double> to_original(double a, double b, int pad, int resized, int original) {
  const double lo = std::clamp(a - pad, 0.0, double(resized)), hi = std::clamp(b - pad, 0.0, double(resized));
  const double scale = double(original) / resized;
  return {lo * scale, hi * scale};
}

}  // namespace

void set_patch_extents(std::vector<TokenAnnotation>& annotations, const PackLayout& p, const PixelGeometry& g,
                       int crop_size, int patch_size) {
  if (static_cast<std::int64_t>(annotations.size()) != p.tokens())
    fail("set_patch_extents", std::to_string(annotations.size()) + " annotations for " + std::to_string(p.tokens()) +
                                  " image tokens");
  if (g.resized_height <= 0 || g.resized_width <= 0 || g.height <= 0 || g.width <= 0)
    fail("set_patch_extents", "image of no pixels");
  const double sx = double(g.width) / crop_size, sy = double(g.height) / crop_size;
  for (TokenAnnotation& a : annotations) {
    if (a.separator) continue;
    if (a.crop == 0) {
      a.x0 = float(a.col * patch_size * sx), a.x1 = float((a.col + 1) * patch_size * sx);
      a.y0 = float(a.row * patch_size * sy), a.y1 = float((a.row + 1) * patch_size * sy);
      continue;
    }
    const double fr = p.downscaled ? double(p.rows) / p.out_rows : 1.0, fc = p.downscaled ? double(p.cols) / p.out_cols : 1.0;
    const double R0 = p.top + a.row * fr, R1 = p.top + (a.row + 1) * fr;
    const double C0 = p.left + a.col * fc, C1 = p.left + (a.col + 1) * fc;
    const auto [y0, y1] = to_original(canvas_pixel(R0, true, p.side, g.tile, patch_size),
                                      canvas_pixel(R1, false, p.side, g.tile, patch_size), g.pad_top, g.resized_height,
                                      g.height);
    const auto [x0, x1] = to_original(canvas_pixel(C0, true, p.side, g.tile, patch_size),
                                      canvas_pixel(C1, false, p.side, g.tile, patch_size), g.pad_left, g.resized_width,
                                      g.width);
    a.x0 = float(x0), a.x1 = float(x1), a.y0 = float(y0), a.y1 = float(y1);
  }
}

}  // namespace mechlens::models::llava_onevision
