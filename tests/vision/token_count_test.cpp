// The image-token count of LlavaOnevisionProcessor._get_number_of_features
// against token_golden.json (a Python transcription of the HF rule, run by
// CPython with its own round/floor semantics), plus MODELS.md's 384x384 = 1485.
#include "vision/token_count.hpp"

#include <gtest/gtest.h>

#include "golden_support.hpp"
#include "mechlens/error.hpp"
#include "vision/anyres.hpp"

using namespace mechlens::vision;
using namespace vision_test;

namespace {

LlavaOnevisionProcessorConfig real_config() { return LlavaOnevisionProcessorConfig::load(fixture("llava_ov_config")); }

std::int64_t golden_count(const json& table, int h, int w) {
  for (const auto& row : table)
    if (row[0].get<int>() == h && row[1].get<int>() == w) return row[2].get<std::int64_t>();
  throw std::runtime_error("size not in token_golden.json");
}

}  // namespace

TEST(ImageTokens, A384SquareIs1485) {
  // MODELS.md: 729 base + 27 rows of (27 patches + 1 newline).
  const ImageTokenCount t = llava_onevision_image_tokens(384, 384, real_config());
  EXPECT_EQ(t.total, 1485);
  EXPECT_EQ(t.base, 729);
  EXPECT_EQ(t.grid_rows, 27);
  EXPECT_EQ(t.grid_cols, 27);
  EXPECT_EQ(t.newlines, 27);
  EXPECT_FALSE(t.shrunk);
}

TEST(ImageTokens, NamedSizesEqualTheHfRule) {
  const json golden = load_json("token_golden.json")["llava_ov_config"];
  const LlavaOnevisionProcessorConfig config = real_config();
  // (height, width): 640x480 and 1000x300 in both orientations, 2000x2000.
  for (auto [h, w] : {std::pair{480, 640}, std::pair{640, 480}, std::pair{300, 1000}, std::pair{1000, 300},
                      std::pair{2000, 2000}, std::pair{384, 384}}) {
    EXPECT_EQ(llava_onevision_image_tokens(h, w, config).total, golden_count(golden, h, w)) << h << "x" << w;
  }
  // 2000x2000 takes the 6x6 grid (2304 pinpoint): 162x162 features, shrunk by the anyres_max_9 rule.
  const ImageTokenCount big = llava_onevision_image_tokens(2000, 2000, config);
  EXPECT_TRUE(big.shrunk);
  EXPECT_EQ(big.scale_height, 6);
  EXPECT_EQ(big.scale_width, 6);
}

TEST(ImageTokens, SweepEqualsTheHfRuleForBothConfigs) {
  const json golden = load_json("token_golden.json");
  for (const char* name : {"llava_ov_config", "small_config"}) {
    const LlavaOnevisionProcessorConfig config = LlavaOnevisionProcessorConfig::load(fixture(name));
    int n = 0;
    for (const auto& row : golden[name]) {
      const int h = row[0], w = row[1];
      ASSERT_EQ(llava_onevision_image_tokens(h, w, config).total, row[2].get<std::int64_t>()) << name << " " << h << "x" << w;
      ++n;
    }
    EXPECT_GE(n, 500);
  }
}

TEST(ImageTokens, GridAgreesWithTheCropPlan) {
  const LlavaOnevisionProcessorConfig config = real_config();
  for (auto [h, w] : {std::pair{53, 37}, std::pair{480, 640}, std::pair{500, 2600}, std::pair{2000, 2000}}) {
    const ImageTokenCount t = llava_onevision_image_tokens(h, w, config);
    const AnyresPlan p = plan_anyres(h, w, config);
    EXPECT_EQ(t.scale_height, p.tile_rows) << h << "x" << w;
    EXPECT_EQ(t.scale_width, p.tile_cols) << h << "x" << w;
    EXPECT_EQ(t.total, t.base + t.unpadded + t.newlines);
  }
}

TEST(ImageTokens, DefaultStrategyDropsOneAndMultiImageIsBasePlusNewline) {
  LlavaOnevisionProcessorConfig config = real_config();
  const std::int64_t full = llava_onevision_image_tokens(480, 640, config).total;
  EXPECT_EQ(llava_onevision_multi_image_tokens(config), 730);
  config.vision_feature_select_strategy = "default";
  EXPECT_EQ(llava_onevision_image_tokens(480, 640, config).total, full - 1);
  EXPECT_EQ(llava_onevision_multi_image_tokens(config), 729);
}

TEST(ImageTokens, RejectsEmptySizes) {
  EXPECT_THROW(llava_onevision_image_tokens(0, 10, real_config()), mechlens::Error);
}
