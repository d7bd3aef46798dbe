#include "vision/normalize.hpp"

#include <ATen/ATen.h>

#include <array>

#include "mechlens/error.hpp"

namespace mechlens::vision {

at::Tensor normalize_crops(const std::vector<RgbImage>& crops, const LlavaOnevisionProcessorConfig& config) {
  if (crops.empty()) fail("normalize_crops", "no crops");
  const int h = crops[0].height, w = crops[0].width;
  for (std::size_t i = 1; i < crops.size(); ++i)
    if (crops[i].height != h || crops[i].width != w)
      fail("normalize_crops", "crop " + std::to_string(i) + " is " + std::to_string(crops[i].height) + "x" +
                                  std::to_string(crops[i].width) + ", crop 0 is " + std::to_string(h) + "x" + std::to_string(w));
  // One value per uint8 level and channel: the same arithmetic, tabulated.
  std::array<std::array<float, 256>, 3> table{};
  for (int c = 0; c < 3; ++c) {
    const float mean = float(config.image_mean[c]), std = float(config.image_std[c]);
    for (int v = 0; v < 256; ++v) {
      float x = config.do_rescale ? float(double(v) * config.rescale_factor) : float(v);
      if (config.do_normalize) x = (x - mean) / std;  // float32 each step (x86-64 SSE), as numpy
      table[c][v] = x;
    }
  }
  at::Tensor out = at::empty({std::int64_t(crops.size()), 3, h, w}, at::kFloat);
  float* dst = out.data_ptr<float>();
  const std::size_t plane = std::size_t(h) * w;
  for (std::size_t n = 0; n < crops.size(); ++n) {
    const std::uint8_t* src = crops[n].pixels.data();
    float* d = dst + n * 3 * plane;
    for (std::size_t p = 0; p < plane; ++p) {
      d[p] = table[0][src[p * 3 + 0]];
      d[plane + p] = table[1][src[p * 3 + 1]];
      d[2 * plane + p] = table[2][src[p * 3 + 2]];
    }
  }
  return out;
}

}  // namespace mechlens::vision
