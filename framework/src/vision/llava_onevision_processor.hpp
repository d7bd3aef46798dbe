#pragma once
// LlavaOnevisionImageProcessor (slow, PIL) for one image alone in its prompt:
// decode, anyres crops (base image first, then the tiles row-major),
// rescale and normalise into pixel_values, and the image-token count the
// processor expands the placeholder to.
#include <ATen/core/Tensor.h>

#include <string>

#include "vision/anyres.hpp"
#include "vision/image.hpp"
#include "vision/processor_config.hpp"
#include "vision/token_count.hpp"

namespace mechlens::vision {

struct LlavaOnevisionImage {
  at::Tensor pixel_values;  // [1 + tiles, 3, crop_height, crop_width] float32
  AnyresPlan plan;
  ImageTokenCount tokens;
  int height = 0, width = 0;  // original size ("image_sizes")
};

LlavaOnevisionImage preprocess_llava_onevision(const RgbImage& image, const LlavaOnevisionProcessorConfig& config);
LlavaOnevisionImage preprocess_llava_onevision_file(const std::string& path, const LlavaOnevisionProcessorConfig& config);

}  // namespace mechlens::vision
