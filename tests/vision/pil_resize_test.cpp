// PIL's Image.resize reproduced bit for bit: every case of resize_golden.json
// (Pillow on the same uint8 PNG inputs), up and down, one axis or both, all filters.
#include "vision/pil_resize.hpp"

#include <gtest/gtest.h>

#include <map>

#include "golden_support.hpp"
#include "mechlens/error.hpp"
#include "vision/image.hpp"

using namespace mechlens::vision;
using namespace vision_test;

namespace {

Resample filter_named(const std::string& n) {
  static const std::map<std::string, Resample> m{{"bicubic", Resample::bicubic}, {"bilinear", Resample::bilinear},
                                                 {"lanczos", Resample::lanczos}, {"box", Resample::box},
                                                 {"hamming", Resample::hamming}};
  return m.at(n);
}

}  // namespace

TEST(PilResize, EqualsPillowOnEveryGoldenCase) {
  const json golden = load_json("resize_golden.json");
  std::map<std::string, RgbImage> inputs;
  int checked = 0;
  for (const auto& c : golden) {
    const std::string name = c["image"];
    if (!inputs.count(name)) inputs[name] = decode_image(fixture(name + ".png"));
    const int w = c["width"], h = c["height"];
    const std::string what = name + " -> " + std::to_string(w) + "x" + std::to_string(h) + " " + c["filter"].get<std::string>();
    const RgbImage out = pil_resize(inputs[name], w, h, filter_named(c["filter"]));
    expect_u8_matches(out, c, what);
    if (c.contains("pixels")) {
      ASSERT_EQ(out.pixels.size(), c["pixels"].size()) << what;
      for (std::size_t i = 0; i < out.pixels.size(); ++i) ASSERT_EQ(int(out.pixels[i]), c["pixels"][i].get<int>()) << what << " at " << i;
    }
    ++checked;
  }
  EXPECT_GE(checked, 40);
}

TEST(PilResize, SameSizeIsACopy) {
  const RgbImage img = decode_image(fixture("w61h45.png"));
  const RgbImage out = pil_resize(img, img.width, img.height, Resample::bicubic);
  EXPECT_EQ(out.pixels, img.pixels);
}

TEST(PilResize, ConstantImageStaysConstant) {
  // Normalised weights sum to 1 in fixed point (to within rounding): no drift, no ringing.
  RgbImage img(31, 17, 200);
  for (Resample r : {Resample::bicubic, Resample::bilinear, Resample::lanczos, Resample::box, Resample::hamming})
    for (auto [w, h] : {std::pair{5, 9}, std::pair{64, 70}, std::pair{17, 3}}) {
      const RgbImage out = pil_resize(img, w, h, r);
      for (std::uint8_t v : out.pixels) ASSERT_EQ(v, 200) << resample_name(r);
    }
}

TEST(PilResize, RejectsBadSizesAndNearest) {
  const RgbImage img(4, 4, 1);
  EXPECT_THROW(pil_resize(img, 0, 3, Resample::bicubic), mechlens::Error);
  EXPECT_THROW(pil_resize(img, 3, 3, Resample::nearest), mechlens::Error);
  EXPECT_THROW(resample_from_code(0, "preprocessor_config.json: key 'resample'"), mechlens::Error);
  EXPECT_THROW(resample_from_code(9, "x"), mechlens::Error);
  EXPECT_EQ(resample_from_code(3, "x"), Resample::bicubic);
  EXPECT_EQ(resample_from_code(2, "x"), Resample::bilinear);
}
