// Rescale then normalise, float32 as numpy does it (image_transforms.rescale
// multiplies in float64 and casts; normalize works in float32): every uint8
// level of every channel against normalize_golden.json.
#include "vision/normalize.hpp"

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "golden_support.hpp"
#include "mechlens/error.hpp"

using namespace mechlens::vision;
using namespace vision_test;

TEST(Normalize, EveryLevelEqualsNumpy) {
  const json golden = load_json("normalize_golden.json");
  for (const char* name : {"llava_ov_config", "small_config"}) {
    const LlavaOnevisionProcessorConfig config = LlavaOnevisionProcessorConfig::load(fixture(name));
    RgbImage levels(1, 256);
    for (int v = 0; v < 256; ++v)
      for (int c = 0; c < 3; ++c) levels.pixels[v * 3 + c] = std::uint8_t(v);
    const at::Tensor x = normalize_crops({levels}, config);
    ASSERT_EQ(x.sizes(), (std::vector<std::int64_t>{1, 3, 1, 256}));
    for (int c = 0; c < 3; ++c)
      for (int v = 0; v < 256; ++v) {
        const float want = float(golden[name][c][v].get<double>());
        EXPECT_EQ(x[0][c][0][v].item<float>(), want) << name << " channel " << c << " level " << v;
      }
  }
}

TEST(Normalize, ZeroIsMinusOneAndFullIsOneForHalfMeanStd) {
  const LlavaOnevisionProcessorConfig config = LlavaOnevisionProcessorConfig::load(fixture("llava_ov_config"));
  RgbImage img(2, 2, 0);
  img.pixels[9] = img.pixels[10] = img.pixels[11] = 255;  // pixel (1, 1)
  const at::Tensor x = normalize_crops({img}, config);
  EXPECT_EQ(x[0][0][0][0].item<float>(), -1.0f);
  EXPECT_EQ(x[0][2][1][1].item<float>(), 1.0f);
}

TEST(Normalize, ChannelsFirstAndCropsInOrder) {
  LlavaOnevisionProcessorConfig config;
  config.do_rescale = false;
  config.do_normalize = false;
  RgbImage a(1, 2), b(1, 2);
  for (int i = 0; i < 6; ++i) {
    a.pixels[i] = std::uint8_t(i);
    b.pixels[i] = std::uint8_t(10 + i);
  }
  const at::Tensor x = normalize_crops({a, b}, config);
  // HWC (r0 g0 b0 r1 g1 b1) -> CHW (r0 r1 | g0 g1 | b0 b1)
  const std::vector<float> want{0, 3, 1, 4, 2, 5, 10, 13, 11, 14, 12, 15};
  const at::Tensor flat = x.reshape({-1});
  for (int i = 0; i < 12; ++i) EXPECT_EQ(flat[i].item<float>(), want[i]) << i;
}

TEST(Normalize, RejectsCropsOfDifferentSizes) {
  LlavaOnevisionProcessorConfig config;
  EXPECT_THROW(normalize_crops({RgbImage(2, 2), RgbImage(2, 3)}, config), mechlens::Error);
  EXPECT_THROW(normalize_crops({}, config), mechlens::Error);
}
