#pragma once
// EXIF orientation, applied as PIL.ImageOps.exif_transpose does: transformers'
// image_utils.load_image (how a processor opens an image given by path)
// transposes by the Orientation tag before convert("RGB"). stb_image ignores it.
#include <cstddef>
#include <cstdint>

#include "vision/image.hpp"

namespace mechlens::vision {

// The Orientation tag (0x0112) of IFD0 in a JPEG's APP1 "Exif" segment or a
// PNG's eXIf chunk; 1 (as stored) when absent or unreadable.
int exif_orientation(const std::uint8_t* data, std::size_t size);

// Orientation 2..8 -> FLIP_LEFT_RIGHT, ROTATE_180, FLIP_TOP_BOTTOM, TRANSPOSE,
// ROTATE_270, TRANSVERSE, ROTATE_90 (PIL's rotations are counter-clockwise);
// anything else leaves the image as it is.
RgbImage apply_exif_orientation(const RgbImage& image, int orientation);

}  // namespace mechlens::vision
