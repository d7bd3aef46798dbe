#include "vision/exif_orientation.hpp"

#include <cstring>

namespace mechlens::vision {
namespace {

// Orientation from a TIFF-structured EXIF block ("II*\0" or "MM\0*" header).
int tiff_orientation(const std::uint8_t* t, std::size_t n) {
  if (n < 8) return 1;
  bool little;
  if (t[0] == 'I' && t[1] == 'I') little = true;
  else if (t[0] == 'M' && t[1] == 'M') little = false;
  else return 1;
  auto u16 = [&](std::size_t at) -> unsigned { return little ? t[at] | (t[at + 1] << 8) : (t[at] << 8) | t[at + 1]; };
  auto u32 = [&](std::size_t at) -> std::uint32_t {
    return little ? std::uint32_t(t[at]) | (std::uint32_t(t[at + 1]) << 8) | (std::uint32_t(t[at + 2]) << 16) | (std::uint32_t(t[at + 3]) << 24)
                  : (std::uint32_t(t[at]) << 24) | (std::uint32_t(t[at + 1]) << 16) | (std::uint32_t(t[at + 2]) << 8) | std::uint32_t(t[at + 3]);
  };
  if (u16(2) != 42) return 1;
  const std::size_t ifd = u32(4);
  if (ifd + 2 > n) return 1;
  const unsigned entries = u16(ifd);
  for (unsigned i = 0; i < entries; ++i) {
    const std::size_t e = ifd + 2 + std::size_t(i) * 12;
    if (e + 12 > n) return 1;
    if (u16(e) != 0x0112) continue;
    const unsigned type = u16(e + 2);
    if (type == 3) return int(u16(e + 8));  // SHORT, stored in the value field
    if (type == 4) return int(u32(e + 8));  // LONG, tolerated
    return 1;
  }
  return 1;
}

int jpeg_orientation(const std::uint8_t* d, std::size_t n) {
  std::size_t at = 2;  // after SOI
  while (at + 4 <= n && d[at] == 0xFF) {
    const std::uint8_t marker = d[at + 1];
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 || marker == 0xFF) {
      at += marker == 0xFF ? 1 : 2;  // fill bytes and markers without a length
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) break;  // image data: no more metadata
    const std::size_t len = (std::size_t(d[at + 2]) << 8) | d[at + 3];
    if (len < 2 || at + 2 + len > n) break;
    const std::uint8_t* seg = d + at + 4;
    const std::size_t seg_len = len - 2;
    if (marker == 0xE1 && seg_len >= 6 && std::memcmp(seg, "Exif\0\0", 6) == 0) return tiff_orientation(seg + 6, seg_len - 6);
    at += 2 + len;
  }
  return 1;
}

int png_orientation(const std::uint8_t* d, std::size_t n) {
  std::size_t at = 8;
  while (at + 12 <= n) {
    const std::size_t len = (std::size_t(d[at]) << 24) | (std::size_t(d[at + 1]) << 16) | (std::size_t(d[at + 2]) << 8) | d[at + 3];
    if (at + 12 + len > n) break;
    const std::uint8_t* type = d + at + 4;
    const std::uint8_t* body = d + at + 8;
    if (std::memcmp(type, "eXIf", 4) == 0) {
      // Pillow accepts the block with or without an "Exif\0\0" prefix.
      if (len >= 6 && std::memcmp(body, "Exif\0\0", 6) == 0) return tiff_orientation(body + 6, len - 6);
      return tiff_orientation(body, len);
    }
    if (std::memcmp(type, "IEND", 4) == 0) break;
    at += 12 + len;
  }
  return 1;
}

}  // namespace

int exif_orientation(const std::uint8_t* data, std::size_t size) {
  if (size >= 4 && data[0] == 0xFF && data[1] == 0xD8) return jpeg_orientation(data, size);
  static const std::uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (size >= 8 && std::memcmp(data, png_sig, 8) == 0) return png_orientation(data, size);
  return 1;
}

RgbImage apply_exif_orientation(const RgbImage& in, int orientation) {
  if (orientation < 2 || orientation > 8) return in;
  const int H = in.height, W = in.width;
  const bool swap = orientation >= 5;  // TRANSPOSE, ROTATE_270, TRANSVERSE, ROTATE_90
  RgbImage out(swap ? W : H, swap ? H : W);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      int sy = y, sx = x;
      switch (orientation) {
        case 2: sx = W - 1 - x; break;                   // FLIP_LEFT_RIGHT
        case 3: sy = H - 1 - y; sx = W - 1 - x; break;   // ROTATE_180
        case 4: sy = H - 1 - y; break;                   // FLIP_TOP_BOTTOM
        case 5: sy = x; sx = y; break;                   // TRANSPOSE
        case 6: sy = H - 1 - x; sx = y; break;           // ROTATE_270 (90 clockwise)
        case 7: sy = H - 1 - x; sx = W - 1 - y; break;   // TRANSVERSE
        case 8: sy = x; sx = W - 1 - y; break;           // ROTATE_90 (counter-clockwise)
      }
      std::memcpy(out.row(y) + std::size_t(x) * 3, in.row(sy) + std::size_t(sx) * 3, 3);
    }
  return out;
}

}  // namespace mechlens::vision
