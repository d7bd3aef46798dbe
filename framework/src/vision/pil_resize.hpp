#pragma once
// PIL's Image.resize for 8-bit RGB images, bit for bit (Pillow
// src/libImaging/Resample.c): separable convolution, horizontal pass then
// vertical pass, each rounding and clipping to uint8; fixed-point weights
// with 22 fractional bits; on downscaling the filter support widens by the
// scale factor (antialiasing). This is what Hugging Face's slow image
// processors call through transformers.image_transforms.resize.
#include "vision/image.hpp"

#include <string>

namespace mechlens::vision {

// PIL.Image.Resampling values (the "resample" integer in preprocessor_config.json).
enum class Resample : int { nearest = 0, lanczos = 1, bilinear = 2, bicubic = 3, box = 4, hamming = 5 };

// From the integer code; nearest is refused (PIL runs it through another code path).
Resample resample_from_code(int code, const std::string& where);
const char* resample_name(Resample r);

// image.resize((width, height), resample) with the default box and no reducing_gap.
RgbImage pil_resize(const RgbImage& image, int width, int height, Resample filter);

}  // namespace mechlens::vision
