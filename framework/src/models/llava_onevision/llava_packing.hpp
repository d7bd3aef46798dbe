#pragma once
// LLaVA-OneVision's image token layout, as LlavaOnevisionModel.pack_image_features
// (modeling_llava_onevision.py) builds it for one image:
//   1. the base crop's side x side patch features (side = image_size / patch_size, 27), row-major;
//   2. the high-resolution tiles (best resolution from image_grid_pinpoints,
//      select_best_resolution) arranged as one grid of (tiles_rows * side) x
//      (tiles_cols * side) features, row-major over the whole grid;
//   3. unpadded back to the image's aspect ratio (unpad_image: int(round(x, 7)),
//      the padding halved with floor division, cut from both sides);
//   4. when sqrt(rows * cols / (max_num_patches * side^2)) > 1.1 (anyres_max_9),
//      resized to (int(rows // ratio), int(cols // ratio)) by bilinear
//      interpolation (F.interpolate, align_corners=False);
//   5. image_newline appended after each row.
// Integer steps use Python's float semantics (vision/python_math.hpp) and
// the best resolution is vision::select_best_resolution, the processor's own,
// so counts agree with transformers on every size.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "mechlens/input.hpp"

namespace mechlens::models::llava_onevision {

struct PackLayout {
  int side = 0;                   // patches per crop side (27)
  int tiles_rows = 0, tiles_cols = 0;
  int top = 0, rows = 0;          // unpadded rows [top, top + rows) of the tiles grid
  int left = 0, cols = 0;         // unpadded columns
  bool downscaled = false;
  int out_rows = 0, out_cols = 0; // packed grid (== rows/cols unless downscaled)

  int tiles() const { return tiles_rows * tiles_cols; }
  std::int64_t base_tokens() const { return std::int64_t(side) * side; }
  std::int64_t grid_tokens() const { return std::int64_t(out_rows) * (out_cols + 1); }  // with newlines
  std::int64_t tokens() const { return base_tokens() + grid_tokens(); }
};

// `image` = (height, width) of the original image; crop_size = vision
// image_size (384), patch_size 14.
PackLayout pack_layout(std::pair<int, int> image, const std::vector<std::pair<int, int>>& pinpoints, int crop_size,
                       int patch_size, int max_num_patches);

// features [1 + tiles, side * side, D] (base crop first, then the tiles
// row-major), newline [D] → [tokens, D].
at::Tensor pack_image_features(const at::Tensor& features, const PackLayout& layout, const at::Tensor& newline);

// One annotation per packed token, in the same order: base tokens crop 0
// (row, col) in the side x side grid; grid tokens crop 1 (row, col) in the
// packed out_rows x out_cols grid; each row's newline token crop 1, that
// row, col = out_cols (one past the last patch column).
std::vector<TokenAnnotation> pack_annotations(const PackLayout& layout);

}  // namespace mechlens::models::llava_onevision
