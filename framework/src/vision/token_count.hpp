#pragma once
// How many image tokens LlavaOnevisionProcessor puts in the prompt for one
// image (processing_llava_onevision.py, _get_number_of_features and
// _get_unpadded_features): the base crop's side^2 features, then the tile
// grid unpadded to the image's aspect ratio (int(round(x, 7)), padding
// halved with //), shrunk under anyres_max_N when
// sqrt(rows * cols / (N * side^2)) > 1.1 to int(rows // ratio) x int(cols // ratio),
// plus one newline per row; one less under the "default" select strategy.
// Python float semantics throughout (vision/python_math.hpp).
#include <cstdint>

#include "vision/processor_config.hpp"

namespace mechlens::vision {

struct ImageTokenCount {
  int best_height = 0, best_width = 0;  // select_best_resolution
  int scale_height = 0, scale_width = 0;  // tiles per column / row
  int grid_rows = 0, grid_cols = 0;       // unpadded (and possibly shrunk) feature grid
  bool shrunk = false;                    // the anyres_max_N rule applied
  std::int64_t base = 0;                  // side^2
  std::int64_t unpadded = 0;              // grid_rows * grid_cols
  std::int64_t newlines = 0;              // grid_rows
  std::int64_t total = 0;                 // base + unpadded + newlines (- 1 for "default")
};

// One image of (height, width) alone in its prompt (the anyres path).
ImageTokenCount llava_onevision_image_tokens(int height, int width, const LlavaOnevisionProcessorConfig& config);

// An image in a multi-image prompt: side^2 + 1 newline (- 1 for "default").
std::int64_t llava_onevision_multi_image_tokens(const LlavaOnevisionProcessorConfig& config);

}  // namespace mechlens::vision
