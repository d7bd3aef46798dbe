#pragma once
// Rescale and normalise uint8 crops into the tower's pixel_values, with the
// float steps of transformers' image_transforms: rescale multiplies in float64
// and casts to float32 (rescale), normalise subtracts and divides in float32
// with mean/std cast to float32 (normalize); channels first.
#include <ATen/core/Tensor.h>

#include <vector>

#include "vision/image.hpp"
#include "vision/processor_config.hpp"

namespace mechlens::vision {

// [N, 3, H, W] float32; every crop must have the same size.
at::Tensor normalize_crops(const std::vector<RgbImage>& crops, const LlavaOnevisionProcessorConfig& config);

}  // namespace mechlens::vision
