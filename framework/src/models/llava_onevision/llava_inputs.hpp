#pragma once
// What encode() needs from the image processor, as a small interface: the
// adapter's prompt logic (llava_prompt.cpp) is written against it, and
// llava_inputs.cpp binds it to the framework's LLaVA-OneVision image
// processor (vision/). The tokenizer is tokenize::BytePairEncoding itself.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/llava_onevision/llava_config.hpp"

namespace mechlens::models::llava_onevision {

struct PreprocessedImage {
  at::Tensor pixel_values;  // [1 + tiles, 3, S, S] float32, base image first
  int height = 0;           // original size
  int width = 0;
  std::int64_t expected_tokens = -1;  // the processor's image-token count rule (-1: not known)
  // The anyres canvas (vision::AnyresPlan): the aspect-kept resize, its
  // padding and the tile side, to map pixels of the original onto patches.
  int resized_height = 0, resized_width = 0, pad_top = 0, pad_left = 0, tile = 0;
};

class LlavaImageProcessor {
 public:
  virtual ~LlavaImageProcessor() = default;
  virtual PreprocessedImage preprocess(const std::string& path) const = 0;
};

// preprocessor_config.json of the checkpoint directory (checked against config.json's pinpoints).
std::shared_ptr<const LlavaImageProcessor> load_llava_processor(const std::string& directory, const LlavaConfig& config);

}  // namespace mechlens::models::llava_onevision
