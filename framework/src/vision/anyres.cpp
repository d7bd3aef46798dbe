#include "vision/anyres.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "mechlens/error.hpp"

namespace mechlens::vision {

std::pair<int, int> select_best_resolution(std::pair<int, int> image_hw, const std::vector<std::pair<int, int>>& pinpoints) {
  if (pinpoints.empty()) fail("select_best_resolution", "no grid pinpoints");
  const auto [oh, ow] = image_hw;
  std::pair<int, int> best{0, 0};
  std::int64_t max_effective = 0;
  std::int64_t min_wasted = std::numeric_limits<std::int64_t>::max();  // float("inf")
  for (const auto& [h, w] : pinpoints) {
    const double scale = std::min(double(w) / ow, double(h) / oh);
    const std::int64_t dw = std::int64_t(ow * scale), dh = std::int64_t(oh * scale);  // int(): truncation
    const std::int64_t effective = std::min(dw * dh, std::int64_t(ow) * oh);
    const std::int64_t wasted = std::int64_t(w) * h - effective;
    if (effective > max_effective || (effective == max_effective && wasted < min_wasted)) {
      max_effective = effective;
      min_wasted = wasted;
      best = {h, w};
    }
  }
  // Even when every pinpoint scales a sliver to zero pixels, the first one
  // compares equal on effective resolution and less on waste than inf: never empty.
  return best;
}

std::pair<int, int> patch_output_size(std::pair<int, int> image_hw, std::pair<int, int> target_hw) {
  const auto [oh, ow] = image_hw;
  const auto [th, tw] = target_hw;
  const double scale_w = double(tw) / ow, scale_h = double(th) / oh;
  if (scale_w < scale_h) return {std::min(int(std::ceil(oh * scale_w)), th), tw};
  return {th, std::min(int(std::ceil(ow * scale_h)), tw)};
}

AnyresPlan plan_anyres(int height, int width, const LlavaOnevisionProcessorConfig& config) {
  if (height <= 0 || width <= 0) fail("anyres", "image has no pixels");
  AnyresPlan p;
  p.height = height;
  p.width = width;
  std::tie(p.best_height, p.best_width) = select_best_resolution({height, width}, config.grid_pinpoints);
  std::tie(p.resized_height, p.resized_width) = patch_output_size({height, width}, {p.best_height, p.best_width});
  // _get_padding_size: divmod(target - size, 2), the remainder after the image.
  const int dy = p.best_height - p.resized_height, dx = p.best_width - p.resized_width;
  p.pad_top = dy / 2;
  p.pad_bottom = dy / 2 + dy % 2;
  p.pad_left = dx / 2;
  p.pad_right = dx / 2 + dx % 2;
  // divide_to_patches steps by patch_size = size[0] (the crop height) in both directions.
  p.tile = config.crop_height;
  p.tile_rows = (p.best_height + p.tile - 1) / p.tile;
  p.tile_cols = (p.best_width + p.tile - 1) / p.tile;
  return p;
}

RgbImage pad_image(const RgbImage& image, int top, int bottom, int left, int right, std::uint8_t value) {
  RgbImage out(image.height + top + bottom, image.width + left + right, value);
  for (int y = 0; y < image.height; ++y)
    std::memcpy(out.row(y + top) + std::size_t(left) * 3, image.row(y), std::size_t(image.width) * 3);
  return out;
}

namespace {

RgbImage crop(const RgbImage& image, int y0, int x0, int h, int w) {
  // numpy slicing: a tile at the edge of an image that is not a multiple of
  // the tile side is simply smaller.
  h = std::min(h, image.height - y0);
  w = std::min(w, image.width - x0);
  RgbImage out(h, w);
  for (int y = 0; y < h; ++y)
    std::memcpy(out.row(y), image.row(y0 + y) + std::size_t(x0) * 3, std::size_t(w) * 3);
  return out;
}

// _preprocess resizes every crop to the crop size (a copy when it already is).
RgbImage to_crop_size(const RgbImage& image, const LlavaOnevisionProcessorConfig& config) {
  if (!config.do_resize) return image;
  return pil_resize(image, config.crop_width, config.crop_height, config.resample);
}

}  // namespace

std::vector<RgbImage> anyres_crops(const RgbImage& image, const LlavaOnevisionProcessorConfig& config, AnyresPlan* plan_out) {
  const AnyresPlan plan = plan_anyres(image.height, image.width, config);
  if (plan_out) *plan_out = plan;
  // get_image_patches resizes with the processor's resample regardless of do_resize.
  const RgbImage resized = pil_resize(image, plan.resized_width, plan.resized_height, config.resample);
  const RgbImage padded = pad_image(resized, plan.pad_top, plan.pad_bottom, plan.pad_left, plan.pad_right);
  std::vector<RgbImage> crops;
  crops.reserve(1 + plan.tiles());
  crops.push_back(pil_resize(image, config.crop_width, config.crop_height, config.resample));
  for (int r = 0; r < plan.tile_rows; ++r)
    for (int c = 0; c < plan.tile_cols; ++c)
      crops.push_back(to_crop_size(crop(padded, r * plan.tile, c * plan.tile, plan.tile, plan.tile), config));
  return crops;
}

RgbImage square_crop(const RgbImage& image, const LlavaOnevisionProcessorConfig& config) {
  const int side = std::max(image.height, image.width);
  RgbImage square(side, side);
  // background_color = tuple(int(x * 255) for x in image_mean)
  std::uint8_t fill[3];
  for (int c = 0; c < 3; ++c) fill[c] = std::uint8_t(std::clamp(int(config.image_mean[c] * 255), 0, 255));
  for (std::size_t i = 0; i < square.pixels.size(); i += 3) std::memcpy(&square.pixels[i], fill, 3);
  const int top = image.width > image.height ? (side - image.height) / 2 : 0;
  const int left = image.width > image.height ? 0 : (side - image.width) / 2;
  for (int y = 0; y < image.height; ++y)
    std::memcpy(square.row(y + top) + std::size_t(left) * 3, image.row(y), std::size_t(image.width) * 3);
  return to_crop_size(square, config);
}

}  // namespace mechlens::vision
