// Image decoding with stb_image (Debian's libstb-dev), converted to RGB the way
// PIL's Image.convert("RGB") does it, which is what transformers'
// image_transforms.convert_to_rgb calls for the LLaVA-OneVision processor.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>

#include "vision/image.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "mechlens/error.hpp"
#include "vision/exif_orientation.hpp"

namespace mechlens::vision {
namespace {

struct StbFree {
  void operator()(void* p) const { stbi_image_free(p); }
};

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open image file: " + std::string(std::strerror(errno)));
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, "cannot read image file");
  return bytes;
}

std::uint32_t be16(const std::uint8_t* p) { return (std::uint32_t(p[0]) << 8) | p[1]; }
std::uint32_t be32(const std::uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }

// Width and height as a PNG's IHDR or a JPEG's SOF segment declares them;
// nullopt for other formats or a header too short to say.
std::optional<std::pair<std::uint64_t, std::uint64_t>> declared_size(const std::uint8_t* data, std::size_t size) {
  static const std::uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size >= 24 && std::equal(png, png + 8, data) && std::equal(data + 12, data + 16, "IHDR"))
    return std::make_pair(std::uint64_t(be32(data + 16)), std::uint64_t(be32(data + 20)));
  if (size < 4 || data[0] != 0xFF || data[1] != 0xD8) return std::nullopt;
  std::size_t i = 2;
  while (i + 9 < size) {
    if (data[i] != 0xFF) return std::nullopt;
    const std::uint8_t marker = data[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) return std::make_pair(std::uint64_t(be16(data + i + 7)), std::uint64_t(be16(data + i + 5)));
    if (marker == 0xD9 || marker == 0xDA) return std::nullopt;  // end of image, start of scan
    i += 2 + be16(data + i + 2);
  }
  return std::nullopt;
}

// A valid but huge image would otherwise fail inside stb as if corrupt (or
// take gigabytes): refuse it by its size, as PIL does.
void check_pixel_limit(std::uint64_t w, std::uint64_t h, const std::string& name) {
  const std::uint64_t pixels = w * h;
  if (pixels > kMaxImagePixels)
    fail(name, std::to_string(w) + " x " + std::to_string(h) + " = " + std::to_string(pixels) +
                   " pixels exceeds the pixel limit (" + std::to_string(kMaxImagePixels) +
                   ", PIL's decompression-bomb limit): downscale the image first");
}

// Debian's stb_image (git 2022-09-08) trusts a DHT segment's code counts: a
// Huffman table of more than 256 codes is written past its arrays (memory
// corruption from a crafted or damaged file; UBSan found it on the JPEG fuzz
// test). Newer stb refuses it; refuse it here, before stb reads the file,
// walking the markers as stb does (bytes past the end read as 0, as its
// stbi__get8 does; entropy-coded data skipped up to the next marker).
void check_jpeg_huffman_tables(const std::uint8_t* data, std::size_t size, const std::string& name) {
  if (size < 4 || data[0] != 0xFF || data[1] != 0xD8) return;
  const auto byte = [&](std::size_t p) { return p < size ? data[p] : std::uint8_t{0}; };
  std::size_t i = 2;
  while (i + 1 < size) {
    const std::uint8_t marker = data[i + 1];
    if (data[i] != 0xFF || marker == 0xFF) {  // entropy-coded data, fill bytes
      ++i;
      continue;
    }
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // stuffed 0xFF, TEM, RSTn
      i += 2;
      continue;
    }
    if (marker == 0xD9) return;  // end of image
    const std::size_t length = (std::size_t(byte(i + 2)) << 8) | byte(i + 3);
    if (marker == 0xC4) {
      std::size_t p = i + 4;
      for (long left = long(length) - 2; left > 0;) {
        std::size_t codes = 0;
        for (std::size_t k = 1; k <= 16; ++k) codes += byte(p + k);
        if (codes > 256)
          fail(name, "corrupt JPEG: a Huffman table (DHT segment) declares " + std::to_string(codes) +
                         " codes, at most 256");
        p += 17 + codes;
        left -= long(17 + codes);
      }
    }
    i += 2 + length;
  }
}

RgbImage decode_rgb(const std::uint8_t* data, std::size_t size, const std::string& name) {
  if (size == 0) fail(name, "not an image: the file is empty");
  if (size > std::size_t(std::numeric_limits<int>::max())) fail(name, "image file too large");
  const int len = int(size);
  // stb refuses images over 2^30 bytes in its header scan with the same
  // words as a corrupt file: read the size it declares first.
  if (const auto declared = declared_size(data, size)) check_pixel_limit(declared->first, declared->second, name);
  check_jpeg_huffman_tables(data, size, name);
  int w = 0, h = 0, channels = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &channels))
    fail(name, std::string("not a decodable image (PNG, JPEG, BMP, GIF, TGA, PSD, PNM): ") + stbi_failure_reason());
  check_pixel_limit(std::uint64_t(w), std::uint64_t(h), name);

  RgbImage out;
  if (channels == 1 && stbi_is_16_bit_from_memory(data, len)) {
    // PIL opens 16-bit greyscale as mode "I" and convert("RGB") clips each value
    // to 255, where stb would keep the high byte: follow PIL.
    int c = 0;
    std::unique_ptr<stbi_us, StbFree> grey(stbi_load_16_from_memory(data, len, &w, &h, &c, 1));
    if (!grey) fail(name, std::string("cannot decode image: ") + stbi_failure_reason());
    out = RgbImage(h, w);
    for (std::size_t i = 0; i < std::size_t(w) * h; ++i)
      std::fill_n(&out.pixels[i * 3], 3, std::uint8_t(std::min<int>(grey.get()[i], 255)));
    return out;
  }
  // Asking stb for 3 components replicates grey and drops alpha (stbi__convert_format),
  // as PIL's L/LA/RGBA/P -> RGB conversions do; 16-bit RGB keeps the high byte as PIL does.
  int c = 0;
  std::unique_ptr<stbi_uc, StbFree> rgb(stbi_load_from_memory(data, len, &w, &h, &c, 3));
  if (!rgb) fail(name, std::string("cannot decode image: ") + stbi_failure_reason());
  if (w <= 0 || h <= 0) fail(name, "image has no pixels");
  out.height = h;
  out.width = w;
  out.pixels.assign(rgb.get(), rgb.get() + std::size_t(w) * h * 3);
  return out;
}

}  // namespace

RgbImage decode_image(const std::string& path, bool apply_exif) {
  const std::vector<std::uint8_t> bytes = read_file(path);
  return decode_image_bytes(bytes.data(), bytes.size(), path, apply_exif);
}

RgbImage decode_image_bytes(const std::uint8_t* data, std::size_t size, const std::string& name, bool apply_exif) {
  RgbImage rgb = decode_rgb(data, size, name);
  return apply_exif ? apply_exif_orientation(rgb, exif_orientation(data, size)) : rgb;
}

}  // namespace mechlens::vision
