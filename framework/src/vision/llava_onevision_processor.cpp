#include "vision/llava_onevision_processor.hpp"

#include "vision/normalize.hpp"

namespace mechlens::vision {

LlavaOnevisionImage preprocess_llava_onevision(const RgbImage& image, const LlavaOnevisionProcessorConfig& config) {
  LlavaOnevisionImage out;
  out.height = image.height;
  out.width = image.width;
  out.pixel_values = normalize_crops(anyres_crops(image, config, &out.plan), config);
  out.tokens = llava_onevision_image_tokens(image.height, image.width, config);
  return out;
}

LlavaOnevisionImage preprocess_llava_onevision_file(const std::string& path, const LlavaOnevisionProcessorConfig& config) {
  return preprocess_llava_onevision(decode_image(path), config);
}

}  // namespace mechlens::vision
