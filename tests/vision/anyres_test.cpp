// The anyres crops of LlavaOnevisionImageProcessor (slow path) against
// processor_golden.json: Pillow resizes + numpy padding/tiling/normalising on
// the same PNGs, for the real checkpoint's config and a tiny-checkpoint-shaped one.
#include "vision/anyres.hpp"

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "golden_support.hpp"
#include "mechlens/error.hpp"
#include "vision/llava_onevision_processor.hpp"
#include "vision/normalize.hpp"

using namespace mechlens::vision;
using namespace vision_test;

namespace {

void expect_f32_matches(const at::Tensor& crop, const json& g, const std::string& what) {
  ASSERT_EQ(crop.dim(), 3) << what;
  for (int d = 0; d < 3; ++d) ASSERT_EQ(crop.size(d), g["shape"][d].get<std::int64_t>()) << what;
  const at::Tensor c = crop.contiguous();
  const float* p = c.data_ptr<float>();
  double sum = 0, sum_sq = 0;
  for (std::int64_t i = 0; i < c.numel(); ++i) {
    sum += double(p[i]);
    sum_sq += double(p[i]) * double(p[i]);
  }
  double max_diff = 0;
  for (const auto& s : g["samples"]) max_diff = std::max(max_diff, std::fabs(double(p[s[0].get<std::int64_t>()]) - s[1].get<double>()));
  EXPECT_LE(max_diff, 1e-6) << what;
  // Sums of ~442k float32 values: only the order of additions may differ.
  EXPECT_NEAR(sum, g["sum"].get<double>(), 1e-6 * std::max(1.0, std::fabs(g["sum"].get<double>())) + 1e-3) << what;
  EXPECT_NEAR(sum_sq, g["sum_sq"].get<double>(), 1e-9 * g["sum_sq"].get<double>() + 1e-3) << what;
}

void check_config(const std::string& config_name) {
  const LlavaOnevisionProcessorConfig config = LlavaOnevisionProcessorConfig::load(fixture(config_name));
  const json golden = load_json("processor_golden.json")[config_name];
  ASSERT_FALSE(golden.empty());
  for (auto it = golden.begin(); it != golden.end(); ++it) {
    const std::string name = it.key();
    const json& g = it.value();
    const RgbImage image = decode_image(fixture(name + ".png"));
    ASSERT_EQ(image.height, g["image_size"][0].get<int>());
    ASSERT_EQ(image.width, g["image_size"][1].get<int>());

    AnyresPlan plan;
    const std::vector<RgbImage> crops = anyres_crops(image, config, &plan);
    EXPECT_EQ(plan.best_height, g["best"][0].get<int>()) << name;
    EXPECT_EQ(plan.best_width, g["best"][1].get<int>()) << name;
    EXPECT_EQ(plan.resized_height, g["resized"][0].get<int>()) << name;
    EXPECT_EQ(plan.resized_width, g["resized"][1].get<int>()) << name;
    EXPECT_EQ(plan.pad_top, g["padding"][0].get<int>()) << name;
    EXPECT_EQ(plan.pad_bottom, g["padding"][1].get<int>()) << name;
    EXPECT_EQ(plan.pad_left, g["padding"][2].get<int>()) << name;
    EXPECT_EQ(plan.pad_right, g["padding"][3].get<int>()) << name;
    ASSERT_EQ(int(crops.size()), g["crops"].get<int>()) << name;
    ASSERT_EQ(1 + plan.tiles(), g["crops"].get<int>()) << name;
    for (std::size_t k = 0; k < crops.size(); ++k)
      expect_u8_matches(crops[k], g["u8"][k], config_name + " " + name + " crop " + std::to_string(k));

    const LlavaOnevisionImage processed = preprocess_llava_onevision(image, config);
    ASSERT_EQ(processed.pixel_values.scalar_type(), at::kFloat);
    ASSERT_EQ(processed.pixel_values.size(0), std::int64_t(crops.size())) << name;
    for (std::size_t k = 0; k < crops.size(); ++k)
      expect_f32_matches(processed.pixel_values[std::int64_t(k)], g["f32"][k], config_name + " " + name + " crop " + std::to_string(k));
    EXPECT_EQ(processed.tokens.total, g["tokens"].get<std::int64_t>()) << name;
    EXPECT_EQ(processed.height, image.height);
    EXPECT_EQ(processed.width, image.width);
  }
}

}  // namespace

TEST(Anyres, CropsEqualPillowNumpyForTheRealCheckpointConfig) { check_config("llava_ov_config"); }

TEST(Anyres, CropsEqualPillowNumpyForATinyBilinearConfig) { check_config("small_config"); }

TEST(Anyres, PaddingIsZeroBeforeNormalisingSoMinusOneAfter) {
  // 37x53 (w x h): resized to 269x384 in a 384x384 tile, 57 columns left, 58 right.
  const LlavaOnevisionProcessorConfig config = LlavaOnevisionProcessorConfig::load(fixture("llava_ov_config"));
  const LlavaOnevisionImage p = preprocess_llava_onevision_file(fixture("w37h53.png"), config);
  ASSERT_EQ(p.pixel_values.size(0), 2);
  const at::Tensor tile = p.pixel_values[1];
  EXPECT_TRUE(at::all(tile.narrow(2, 0, 57) == -1.0f).item<bool>());
  EXPECT_TRUE(at::all(tile.narrow(2, 384 - 58, 58) == -1.0f).item<bool>());
  EXPECT_FALSE(at::all(tile.narrow(2, 57, 1) == -1.0f).item<bool>());
  EXPECT_FALSE(at::all(tile.narrow(2, 384 - 59, 1) == -1.0f).item<bool>());
}

TEST(Anyres, BestResolutionFollowsHfRule) {
  const auto pins = LlavaOnevisionProcessorConfig::default_pinpoints();
  EXPECT_EQ(select_best_resolution({384, 384}, pins), std::make_pair(384, 384));
  EXPECT_EQ(select_best_resolution({480, 640}, pins), std::make_pair(768, 768));
  EXPECT_EQ(select_best_resolution({300, 1000}, pins), std::make_pair(384, 1152));
  EXPECT_EQ(select_best_resolution({2000, 2000}, pins), std::make_pair(2304, 2304));
  // Ties on effective resolution and waste go to the earlier pinpoint.
  EXPECT_EQ(select_best_resolution({10, 10}, {{20, 40}, {40, 20}}), std::make_pair(20, 40));
  EXPECT_EQ(select_best_resolution({10, 10}, {{40, 20}, {20, 40}}), std::make_pair(40, 20));
}

TEST(Anyres, PatchOutputSizeCeilsTheSideThatDoesNotFill) {
  // 53x37 (h x w) into 384x384: height fills, width = ceil(37 * 384/53) = ceil(268.07) = 269.
  EXPECT_EQ(patch_output_size({53, 37}, {384, 384}), std::make_pair(384, 269));
  // 300x1000 into 384x1152: width fills, height = ceil(300 * 1.152) = ceil(345.6) = 346.
  EXPECT_EQ(patch_output_size({300, 1000}, {384, 1152}), std::make_pair(346, 1152));
  // Exact fits stay exact.
  EXPECT_EQ(patch_output_size({480, 640}, {768, 768}), std::make_pair(576, 768));
}

TEST(Anyres, MultiImagePathPadsToASquareWithTheMeanGrey) {
  const LlavaOnevisionProcessorConfig config = LlavaOnevisionProcessorConfig::load(fixture("llava_ov_config"));
  RgbImage img(10, 30, 0);
  LlavaOnevisionProcessorConfig no_resize = config;
  no_resize.do_resize = false;
  const RgbImage sq = square_crop(img, no_resize);
  ASSERT_EQ(sq.height, 30);
  ASSERT_EQ(sq.width, 30);
  EXPECT_EQ(sq.at(0, 0, 0), 127);    // int(0.5 * 255)
  EXPECT_EQ(sq.at(10, 5, 1), 0);     // rows 10..19 hold the image
  EXPECT_EQ(sq.at(19, 29, 2), 0);
  EXPECT_EQ(sq.at(20, 0, 0), 127);
  const RgbImage resized = square_crop(img, config);
  EXPECT_EQ(resized.height, 384);
  EXPECT_EQ(resized.width, 384);
}
