#include "models/phi4mm/phi4mm_hd_transform.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "mechlens/error.hpp"
#include "vision/pil_resize.hpp"

namespace mechlens::models::phi4mm {

namespace {

std::string size_name(int width, int height) {
  return "image of " + std::to_string(width) + " x " + std::to_string(height) + " pixels";
}

// find_closest_aspect_ratio over target_ratios sorted by i * j. Python sorts
// a set, so pairs of equal product come in set order; for them to matter two
// different ratios would have to tie exactly, and then the later one with a
// large enough image wins as in the processor; (i, j) order is used here.
std::pair<int, int> closest_aspect_ratio(int width, int height, int max_num, int crop_size) {
  std::vector<std::pair<int, int>> ratios;
  for (int i = 1; i <= max_num; ++i)
    for (int j = 1; j <= max_num; ++j)
      if (i * j <= max_num) ratios.emplace_back(i, j);
  std::stable_sort(ratios.begin(), ratios.end(),
                   [](const auto& a, const auto& b) { return a.first * a.second < b.first * b.second; });
  const double aspect = double(width) / double(height);
  const double area = double(width) * double(height);
  double best_diff = std::numeric_limits<double>::infinity();
  std::pair<int, int> best{1, 1};
  for (const auto& [i, j] : ratios) {
    const double diff = std::abs(aspect - double(i) / double(j));
    if (diff < best_diff) {
      best_diff = diff;
      best = {i, j};
    } else if (diff == best_diff && area > 0.5 * crop_size * crop_size * i * j) {
      best = {i, j};
    }
  }
  return best;
}

}  // namespace

HdGeometry hd_geometry(int width, int height, const HdConfig& c) {
  if (width <= 0 || height <= 0) fail("phi4mm HD transform", size_name(width, height) + ": no pixels");
  if (c.crop_size <= 0 || c.patch_size <= 0 || c.crop_size % c.patch_size != 0 || c.dynamic_hd <= 0)
    fail("phi4mm HD transform", "crop size " + std::to_string(c.crop_size) + " is not a positive multiple of patch size " +
                                    std::to_string(c.patch_size) + " (or dynamic_hd <= 0)");
  HdGeometry g;
  g.width = width, g.height = height;
  const int S = c.crop_size;
  const int w_crops = int(std::ceil(width / double(S))), h_crops = int(std::ceil(height / double(S)));
  if (std::int64_t(w_crops) * h_crops > c.dynamic_hd) {
    const auto [i, j] = closest_aspect_ratio(width, height, c.dynamic_hd, S);
    g.crops_w = i, g.crops_h = j;
  } else {
    g.crops_w = w_crops, g.crops_h = h_crops;
  }
  const int target_w = S * g.crops_w, target_h = S * g.crops_h;
  const double ratio_w = double(target_w) / width, ratio_h = double(target_h) / height;
  if (ratio_w < ratio_h) {
    g.resized_w = target_w, g.resized_h = int(height * ratio_w);
    g.pad_w = 0, g.pad_h = target_h - g.resized_h;
  } else {
    g.resized_w = int(width * ratio_h), g.resized_h = target_h;
    g.pad_w = target_w - g.resized_w, g.pad_h = 0;
  }
  if (std::min(g.resized_h, target_h) < 10 || std::min(g.resized_w, target_w) < 10)
    fail("phi4mm HD transform", size_name(width, height) + ": the aspect ratio is too extreme (resized to " +
                                    std::to_string(g.resized_w) + " x " + std::to_string(g.resized_h) + ")");
  const int P = c.patch_size;
  g.grid = S / P;
  g.mask_cols = g.grid * g.crops_w - (g.pad_w >= P ? g.pad_w / P : 0);
  g.mask_rows = g.grid * g.crops_h - (g.pad_h >= P ? g.pad_h / P : 0);
  if (g.mask_cols <= 0 || g.mask_rows <= 0) fail("phi4mm HD transform", size_name(width, height) + ": no patch left unpadded");
  g.side = g.grid / 2 + g.grid % 2;
  // mask[:, 0::2, 0::2] per crop: token k of crop row (column) n samples patch n G + 2 k.
  const auto kept = [&](int crops, int mask) {
    int n = 0;
    for (int ci = 0; ci < crops; ++ci)
      for (int k = 0; k < g.side; ++k) n += ci * g.grid + 2 * k < mask;
    return n;
  };
  g.token_rows = kept(g.crops_h, g.mask_rows);
  g.token_cols = kept(g.crops_w, g.mask_cols);
  return g;
}

vision::RgbImage hd_canvas(const vision::RgbImage& image, const HdGeometry& g, int crop_size) {
  const vision::RgbImage resized = vision::pil_resize(image, g.resized_w, g.resized_h, vision::Resample::bilinear);
  vision::RgbImage canvas(g.canvas_h(crop_size), g.canvas_w(crop_size), 255);
  for (int y = 0; y < resized.height; ++y) std::copy_n(resized.row(y), std::size_t(resized.width) * 3, canvas.row(y));
  return canvas;
}

HdImage hd_transform(const vision::RgbImage& image, const HdConfig& c) {
  HdImage out;
  out.geometry = hd_geometry(image.width, image.height, c);
  const HdGeometry& g = out.geometry;
  const vision::RgbImage canvas = hd_canvas(image, g, c.crop_size);
  const std::int64_t S = c.crop_size, H = canvas.height, W = canvas.width;
  // torchvision ToTensor (float32 u / 255) then Normalize((x - 0.5) / 0.5), float32 throughout.
  const at::Tensor u8 = at::from_blob(const_cast<std::uint8_t*>(canvas.pixels.data()), {H, W, 3}, at::kByte);
  const at::Tensor hd = ((u8.permute({2, 0, 1}).to(at::kFloat) / 255.0f) - 0.5f) / 0.5f;  // [3, H, W]
  const at::Tensor crops = hd.reshape({3, g.crops_h, S, g.crops_w, S}).permute({1, 3, 0, 2, 4}).reshape({-1, 3, S, S});
  const at::Tensor global = at::upsample_bicubic2d(hd.unsqueeze(0), {S, S}, /*align_corners=*/false);
  out.pixel_values = at::cat({global, crops}, 0).contiguous();

  const std::int64_t G = g.grid;
  at::Tensor mask = at::zeros({g.crops_h * G, g.crops_w * G}, at::kBool);
  mask.narrow(0, 0, g.mask_rows).narrow(1, 0, g.mask_cols).fill_(true);
  const at::Tensor crop_masks = mask.reshape({g.crops_h, G, g.crops_w, G}).permute({0, 2, 1, 3}).reshape({-1, G, G});
  out.patch_mask = at::cat({at::ones({1, G, G}, at::kBool), crop_masks}, 0).contiguous();
  return out;
}

namespace {

// Canvas interval → original-image interval, clipped to the resized image.
std::pair<float, float> to_original(double a, double b, int resized, int original) {
  const double lo = std::clamp(a, 0.0, double(resized)), hi = std::clamp(b, 0.0, double(resized));
  const double scale = double(original) / resized;
  return {float(lo * scale), float(hi * scale)};
}

// Canvas pixels of sub-grid token n along one axis: crop n / side, its
// patches 2k and 2k + 1 (k = n mod side; the second may not exist for odd G).
std::pair<double, double> sub_span(int n, const HdGeometry& g, const HdConfig& c) {
  const int crop = n / g.side, k = n % g.side;
  const double start = double(crop) * c.crop_size + 2.0 * k * c.patch_size;
  return {start, double(crop) * c.crop_size + std::min(2 * k + 2, g.grid) * double(c.patch_size)};
}

}  // namespace

std::vector<TokenAnnotation> hd_annotations(const HdGeometry& g, const HdConfig& c) {
  std::vector<TokenAnnotation> out;
  out.reserve(std::size_t(g.tokens()));
  const auto token = [](int crop, int row, int col, bool separator) {
    TokenAnnotation a;
    a.modality = Modality::image;
    a.crop = crop, a.row = row, a.col = col, a.separator = separator;
    return a;
  };
  for (int r = 0; r < g.token_rows; ++r) {
    const auto [ya, yb] = sub_span(r, g, c);
    const auto [y0, y1] = to_original(ya, yb, g.resized_h, g.height);
    for (int col = 0; col < g.token_cols; ++col) {
      TokenAnnotation a = token(1, r, col, false);
      const auto [xa, xb] = sub_span(col, g, c);
      const auto [x0, x1] = to_original(xa, xb, g.resized_w, g.width);
      a.x0 = x0, a.x1 = x1, a.y0 = y0, a.y1 = y1;
      out.push_back(a);
    }
    out.push_back(token(1, r, g.token_cols, true));
  }
  out.push_back(token(-1, -1, -1, true));  // glb_GN
  // The global view is the whole canvas squeezed into S x S.
  const double sx = double(g.canvas_w(c.crop_size)) / c.crop_size, sy = double(g.canvas_h(c.crop_size)) / c.crop_size;
  const double span = 2.0 * c.patch_size, edge = double(g.grid) * c.patch_size;
  for (int r = 0; r < g.side; ++r) {
    const auto [y0, y1] = to_original(r * span * sy, std::min((r + 1) * span, edge) * sy, g.resized_h, g.height);
    for (int col = 0; col < g.side; ++col) {
      TokenAnnotation a = token(0, r, col, false);
      const auto [x0, x1] = to_original(col * span * sx, std::min((col + 1) * span, edge) * sx, g.resized_w, g.width);
      a.x0 = x0, a.x1 = x1, a.y0 = y0, a.y1 = y1;
      out.push_back(a);
    }
    out.push_back(token(0, r, g.side, true));
  }
  return out;
}

}  // namespace mechlens::models::phi4mm
