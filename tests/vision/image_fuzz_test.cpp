// Byte-mutation fuzzing of the image decoder (issue 9): every mutation of a
// valid PNG or JPEG decodes (to as many pixels as it says) or fails with
// mechlens::Error naming the image.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>

#include "byte_mutation.hpp"
#include "mechlens/error.hpp"
#include "vision/image.hpp"

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(MECHLENS_TEST_DATA) + "/vision/fixtures/" + name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void fuzz(const std::string& name, int iterations) {
  const std::string valid = fixture(name);
  ASSERT_FALSE(valid.empty()) << name;
  int decoded = 0, refused = 0;
  for (unsigned seed = 1; seed <= 3; ++seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < iterations; ++i) {
      const std::string bytes = mechlens::testing::mutate(valid, rng, 1 + static_cast<int>(rng() % 3));
      try {
        const auto image = mechlens::vision::decode_image_bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                                                bytes.size(), name);
        EXPECT_EQ(image.pixels.size(), std::size_t(image.width) * image.height * 3);
        ++decoded;
      } catch (const mechlens::Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind(name, 0), 0u) << e.what();
        ++refused;
      } catch (const std::exception& e) {
        ADD_FAILURE() << name << " seed " << seed << " iteration " << i << ": " << typeid(e).name() << ": " << e.what();
      }
    }
  }
  EXPECT_GT(decoded + refused, 0);
}

TEST(ImageFuzz, MutatedPngDecodesOrFailsWithAnError) { fuzz("orient1.png", 1000); }
TEST(ImageFuzz, MutatedJpegDecodesOrFailsWithAnError) { fuzz("photo.jpg", 600); }

}  // namespace
