// Decoding to RGB like PIL's Image.open(...).convert("RGB"): grey replicated,
// alpha dropped (not composited), palettes expanded, 16-bit grey clipped;
// EXIF orientation applied as ImageOps.exif_transpose (transformers' load_image);
// the JPEGs within a few levels of libjpeg (Pillow) since decoders differ.
#include "vision/image.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "golden_support.hpp"
#include "mechlens/error.hpp"

using namespace mechlens::vision;
using namespace vision_test;

TEST(DecodeImage, EqualsPilConvertRgb) {
  const json golden = load_json("decode_golden.json");
  int checked = 0;
  for (const auto& g : golden) {
    const std::string file = g["file"];
    const RgbImage img = decode_image(fixture(file));
    ASSERT_EQ(img.height, g["height"].get<int>()) << file;
    ASSERT_EQ(img.width, g["width"].get<int>()) << file;
    ASSERT_EQ(img.pixels.size(), g["pixels"].size()) << file;
    const int tolerance = g["tolerance"];
    int max_diff = 0;
    double total = 0;
    for (std::size_t i = 0; i < img.pixels.size(); ++i) {
      const int d = std::abs(int(img.pixels[i]) - g["pixels"][i].get<int>());
      max_diff = std::max(max_diff, d);
      total += d;
    }
    EXPECT_LE(max_diff, tolerance) << file << " (PIL mode " << g["mode"].get<std::string>() << ")";
    if (tolerance > 0) {
      EXPECT_LT(total / img.pixels.size(), 1.0) << file << ": mean |diff| vs libjpeg";
      std::cout << "  " << file << ": stb vs Pillow (libjpeg) max |diff| " << max_diff << ", mean " << total / img.pixels.size() << "\n";
    }
    ++checked;
  }
  EXPECT_EQ(checked, 16);
}

TEST(DecodeImage, ExifOrientationCanBeIgnored) {
  // Stored pixels, as PIL gives them without exif_transpose.
  const json golden = load_json("decode_golden.json");
  int checked = 0;
  for (const auto& g : golden) {
    if (!g.contains("stored")) continue;
    const RgbImage img = decode_image(fixture(g["file"]), /*apply_exif_orientation=*/false);
    ASSERT_EQ(img.height, 5);
    ASSERT_EQ(img.width, 7);
    for (std::size_t i = 0; i < img.pixels.size(); ++i) ASSERT_EQ(int(img.pixels[i]), g["stored"][i].get<int>()) << g["file"];
    ++checked;
  }
  EXPECT_EQ(checked, 8);
}

TEST(DecodeImage, MissingFileNamesTheFile) {
  const std::string path = fixture("no_such_image.png");
  try {
    decode_image(path);
    FAIL() << "no error";
  } catch (const mechlens::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(DecodeImage, NotAnImageNamesTheFile) {
  const std::string path = fixture("not_an_image.png");
  try {
    decode_image(path);
    FAIL() << "no error";
  } catch (const mechlens::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not a decodable image"), std::string::npos) << e.what();
  }
}

TEST(DecodeImage, EmptyAndTruncatedBytesNameTheSource) {
  EXPECT_THROW(decode_image_bytes(nullptr, 0, "empty.png"), mechlens::Error);
  const std::uint8_t png_head[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  try {
    decode_image_bytes(png_head, sizeof png_head, "cut.png");
    FAIL() << "no error";
  } catch (const mechlens::Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("cut.png: ", 0), 0u) << e.what();
  }
}
