#include "models/llava_onevision/llava_packing.hpp"

#include <ATen/ATen.h>

#include <cmath>

#include "mechlens/error.hpp"
#include "vision/anyres.hpp"
#include "vision/python_math.hpp"

namespace mechlens::models::llava_onevision {

PackLayout pack_layout(std::pair<int, int> image, const std::vector<std::pair<int, int>>& pinpoints, int crop_size,
                       int patch_size, int max_num_patches) {
  if (image.first <= 0 || image.second <= 0)
    fail("image", "size " + std::to_string(image.first) + "x" + std::to_string(image.second) + " is empty");
  PackLayout p;
  p.side = crop_size / patch_size;
  const auto best = vision::select_best_resolution(image, pinpoints);
  // get_anyres_image_grid_shape: best // crop_size per side.
  p.tiles_rows = best.first / crop_size;
  p.tiles_cols = best.second / crop_size;
  if (p.tiles_rows <= 0 || p.tiles_cols <= 0)
    fail("image_grid_pinpoints", "a pinpoint smaller than the crop size " + std::to_string(crop_size));
  const int current_h = p.tiles_rows * p.side, current_w = p.tiles_cols * p.side;
  const double oh = image.first, ow = image.second;
  p.top = 0, p.rows = current_h, p.left = 0, p.cols = current_w;
  // unpad_image
  if (ow / oh > double(current_w) / double(current_h)) {
    const auto new_h = static_cast<long long>(vision::python_round(oh * (double(current_w) / ow), 7));
    const long long padding = (current_h - new_h) >= 0 ? (current_h - new_h) / 2 : -((new_h - current_h + 1) / 2);
    p.top = static_cast<int>(padding);
    p.rows = static_cast<int>(current_h - 2 * padding);
  } else {
    const auto new_w = static_cast<long long>(vision::python_round(ow * (double(current_h) / oh), 7));
    const long long padding = (current_w - new_w) >= 0 ? (current_w - new_w) / 2 : -((new_w - current_w + 1) / 2);
    p.left = static_cast<int>(padding);
    p.cols = static_cast<int>(current_w - 2 * padding);
  }
  p.out_rows = p.rows;
  p.out_cols = p.cols;
  const double ratio = std::sqrt(double(p.rows) * double(p.cols) / (double(max_num_patches) * p.side * p.side));
  if (ratio > 1.1) {
    p.downscaled = true;
    p.out_rows = static_cast<int>(vision::python_floordiv(p.rows, ratio));
    p.out_cols = static_cast<int>(vision::python_floordiv(p.cols, ratio));
  }
  return p;
}

at::Tensor pack_image_features(const at::Tensor& features, const PackLayout& p, const at::Tensor& newline) {
  const std::int64_t D = features.size(-1);
  if (features.dim() != 3 || features.size(0) != 1 + p.tiles() || features.size(1) != p.base_tokens())
    fail("pack_image_features", "features of shape " + std::string(c10::str(features.sizes())) + ", expected [" +
                                    std::to_string(1 + p.tiles()) + ", " + std::to_string(p.base_tokens()) + ", D]");
  const at::Tensor base = features[0];
  // view(rows, cols, side, side, D).permute(4, 0, 2, 1, 3) → [D, rows*side, cols*side]
  at::Tensor grid = features.narrow(0, 1, p.tiles())
                        .reshape({p.tiles_rows, p.tiles_cols, p.side, p.side, D})
                        .permute({4, 0, 2, 1, 3})
                        .reshape({D, p.tiles_rows * p.side, p.tiles_cols * p.side});
  grid = grid.narrow(1, p.top, p.rows).narrow(2, p.left, p.cols);
  if (p.downscaled) {
    // F.interpolate(x[None], [h, w], mode="bilinear") (align_corners False, scales from the sizes).
    grid = at::upsample_bilinear2d(grid.unsqueeze(0).contiguous(), {p.out_rows, p.out_cols}, false, c10::nullopt,
                                   c10::nullopt)[0];
  }
  const at::Tensor nl = newline.to(grid.scalar_type()).view({D, 1, 1}).expand({D, p.out_rows, 1});
  grid = at::cat({grid, nl}, 2);                     // [D, out_rows, out_cols + 1]
  grid = grid.flatten(1, 2).transpose(0, 1);         // [out_rows * (out_cols + 1), D]
  return at::cat({base, grid}, 0);
}

std::vector<TokenAnnotation> pack_annotations(const PackLayout& p) {
  std::vector<TokenAnnotation> out;
  out.reserve(p.tokens());
  for (int r = 0; r < p.side; ++r)
    for (int c = 0; c < p.side; ++c) out.push_back({Modality::image, 0, r, c});
  for (int r = 0; r < p.out_rows; ++r)
    for (int c = 0; c <= p.out_cols; ++c) out.push_back({Modality::image, 1, r, c, /*separator=*/c == p.out_cols});
  return out;
}

}  // namespace mechlens::models::llava_onevision
