#include "vision/token_count.hpp"

#include <cmath>

#include "mechlens/error.hpp"
#include "vision/anyres.hpp"
#include "vision/python_math.hpp"

namespace mechlens::vision {
namespace {

std::int64_t floordiv(std::int64_t a, std::int64_t b) {  // Python's // on ints
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

}  // namespace

ImageTokenCount llava_onevision_image_tokens(int height, int width, const LlavaOnevisionProcessorConfig& config) {
  if (height <= 0 || width <= 0)
    fail("image token count", "image size " + std::to_string(height) + "x" + std::to_string(width) + " is not positive");
  ImageTokenCount t;
  const int side = config.patches_per_side;
  std::tie(t.best_height, t.best_width) = select_best_resolution({height, width}, config.grid_pinpoints);
  // height_best_resolution // height with height = the processed crop size.
  t.scale_height = int(floordiv(t.best_height, config.crop_height));
  t.scale_width = int(floordiv(t.best_width, config.crop_width));

  std::int64_t rows = std::int64_t(side) * t.scale_height;
  std::int64_t cols = std::int64_t(side) * t.scale_width;
  const double original_aspect = double(width) / height;
  const double current_aspect = double(cols) / rows;
  if (original_aspect > current_aspect) {
    // int(round(height * (current_width / width), 7)): int() truncates toward zero.
    const auto new_rows = std::int64_t(python_round(height * (double(cols) / width), 7));
    rows -= floordiv(rows - new_rows, 2) * 2;
  } else {
    const auto new_cols = std::int64_t(python_round(width * (double(rows) / height), 7));
    cols -= floordiv(cols - new_cols, 2) * 2;
  }
  t.grid_rows = int(rows);
  t.grid_cols = int(cols);
  const double ratio = std::sqrt(double(rows * cols) / double(std::int64_t(config.max_num_patches) * side * side));
  if (ratio > 1.1) {
    t.shrunk = true;
    t.grid_rows = int(python_floordiv(double(rows), ratio));
    t.grid_cols = int(python_floordiv(double(cols), ratio));
  }
  t.base = std::int64_t(side) * side;
  t.unpadded = std::int64_t(t.grid_rows) * t.grid_cols;
  t.newlines = t.grid_rows;
  t.total = t.base + t.unpadded + t.newlines - (config.vision_feature_select_strategy == "default" ? 1 : 0);
  return t;
}

std::int64_t llava_onevision_multi_image_tokens(const LlavaOnevisionProcessorConfig& config) {
  const std::int64_t side = config.patches_per_side;
  return side * side + 1 - (config.vision_feature_select_strategy == "default" ? 1 : 0);
}

}  // namespace mechlens::vision
