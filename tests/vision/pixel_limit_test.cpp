// A valid PNG larger than the pixel limit is refused by its size, not called
// corrupt (issue 9, item 10). The PNG is built byte by byte: signature, IHDR
// (with its CRC), one tiny IDAT, IEND; the header alone says 20000 x 20000.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mechlens/error.hpp"
#include "vision/image.hpp"

namespace {

std::uint32_t crc32(const std::string& bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : bytes) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFFu;
}

std::string be32(std::uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}

std::string chunk(const std::string& type, const std::string& data) {
  return be32(static_cast<std::uint32_t>(data.size())) + type + data + be32(crc32(type + data));
}

std::string png_header_only(std::uint32_t width, std::uint32_t height) {
  const std::string ihdr = be32(width) + be32(height) + std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB
  // zlib stream of one empty stored block: enough for a reader that stops at the size.
  const std::string idat("\x78\x01\x01\x00\x00\xff\xff\x00\x00\x00\x01", 11);
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", idat) + chunk("IEND", "");
}

std::string error_of(const std::string& bytes) {
  try {
    mechlens::vision::decode_image_bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "big.png");
  } catch (const mechlens::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(PixelLimit, HugeValidImageIsRefusedBySize) {
  const std::string msg = error_of(png_header_only(20000, 20000));
  EXPECT_EQ(msg, "big.png: 20000 x 20000 = 400000000 pixels exceeds the pixel limit (178956970, PIL's "
                 "decompression-bomb limit): downscale the image first");
}

TEST(PixelLimit, JustUnderTheLimitIsNotRefusedBySize) {
  // 13377 x 13378 = 178957506 > limit; 13377 x 13377 = 178944129 <= limit: this one
  // fails later (the data is missing), but not on its size.
  EXPECT_NE(error_of(png_header_only(13377, 13378)).find("exceeds the pixel limit"), std::string::npos);
  EXPECT_EQ(error_of(png_header_only(13377, 13377)).find("exceeds the pixel limit"), std::string::npos);
}

}  // namespace
