#pragma once
// LLaVA-OneVision's "anyres" crops, as LlavaOnevisionImageProcessor.get_image_patches
// (transformers, slow PIL path) makes them for a single image:
//   best resolution among the grid pinpoints (select_best_resolution),
//   resize keeping the aspect ratio (get_patch_output_size: the side that does
//   not fill the target is ceil'ed, capped at the target), pad with 0 to the
//   best resolution, centred with the odd pixel at the bottom/right
//   (_get_padding_size), cut into crop_height-square tiles row-major
//   (divide_to_patches); the original resized straight to the crop size goes first.
#include <utility>
#include <vector>

#include "vision/image.hpp"
#include "vision/processor_config.hpp"

namespace mechlens::vision {

// image_processing_utils.select_best_resolution: the (height, width) pinpoint
// with the largest effective resolution min(int(w*s) * int(h*s), w*h), s the
// fitting scale; ties go to the least wasted area, then to the earlier pinpoint.
std::pair<int, int> select_best_resolution(std::pair<int, int> image_hw, const std::vector<std::pair<int, int>>& pinpoints);

// image_processing_utils.get_patch_output_size: (height, width) after the
// aspect-preserving resize into `target_hw`.
std::pair<int, int> patch_output_size(std::pair<int, int> image_hw, std::pair<int, int> target_hw);

struct AnyresPlan {
  int height = 0, width = 0;                // original
  int best_height = 0, best_width = 0;      // chosen pinpoint
  int resized_height = 0, resized_width = 0;
  int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  int tile = 0;                             // tile side (crop height)
  int tile_rows = 0, tile_cols = 0;

  int tiles() const { return tile_rows * tile_cols; }
};

AnyresPlan plan_anyres(int height, int width, const LlavaOnevisionProcessorConfig& config);

// Constant-0 padding (np.pad on the uint8 image).
RgbImage pad_image(const RgbImage& image, int top, int bottom, int left, int right, std::uint8_t value = 0);

// Single-image crops in uint8, before rescaling: [base, tile_0, ..., tile_n-1],
// each crop_height x crop_width. `plan` (optional) receives the geometry.
std::vector<RgbImage> anyres_crops(const RgbImage& image, const LlavaOnevisionProcessorConfig& config, AnyresPlan* plan = nullptr);

// The multi-image path (several images in one prompt): no tiling, the image
// padded to a square with int(255 * mean) per channel (pad_to_square), then
// resized to the crop size.
RgbImage square_crop(const RgbImage& image, const LlavaOnevisionProcessorConfig& config);

}  // namespace mechlens::vision
