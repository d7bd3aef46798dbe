#pragma once
// Decoded images: 8-bit RGB, row-major height x width x 3 (HWC), the layout
// PIL gives after Image.convert("RGB") and numpy.asarray.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mechlens::vision {

struct RgbImage {
  int height = 0;
  int width = 0;
  std::vector<std::uint8_t> pixels;  // height * width * 3, HWC

  RgbImage() = default;
  RgbImage(int h, int w, std::uint8_t fill = 0) : height(h), width(w), pixels(std::size_t(h) * w * 3, fill) {}
  std::uint8_t* row(int y) { return pixels.data() + std::size_t(y) * width * 3; }
  const std::uint8_t* row(int y) const { return pixels.data() + std::size_t(y) * width * 3; }
  std::uint8_t at(int y, int x, int c) const { return pixels[(std::size_t(y) * width + x) * 3 + c]; }
};

// Larger images are refused before decoding, naming their size and this
// limit: PIL's Image.MAX_IMAGE_PIXELS x 2, where PIL raises
// DecompressionBombError (a 20000 x 20000 image is 400 M pixels, 1.2 GB of RGB).
inline constexpr std::uint64_t kMaxImagePixels = 178956970;

// Decodes PNG, JPEG (and whatever else stb_image reads: BMP, GIF's first
// frame, TGA, PSD, PNM) into RGB as transformers' image_utils.load_image
// does for a path: PIL.ImageOps.exif_transpose (JPEG APP1 / PNG eXIf
// Orientation), then Image.convert("RGB"): grey is replicated, alpha is
// dropped (not composited onto a background), palettes are expanded.
// Errors name the file.
RgbImage decode_image(const std::string& path, bool apply_exif_orientation = true);
// The same from bytes in memory; `name` is what errors call it.
RgbImage decode_image_bytes(const std::uint8_t* data, std::size_t size, const std::string& name,
                            bool apply_exif_orientation = true);

}  // namespace mechlens::vision
