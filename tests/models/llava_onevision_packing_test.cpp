// The image-token layout against golden counts computed with transformers'
// LlavaOnevisionProcessor rule (reference/llava_token_counts.py → fixtures),
// at the real checkpoint's sizes (384 px crops, 14 px patches, 36 pinpoints).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "models/llava_onevision/llava_packing.hpp"
#include "vision/anyres.hpp"
#include "vision/token_count.hpp"

namespace mechlens::models::llava_onevision {
namespace {

nlohmann::json fixture() {
  std::ifstream file(MECHLENS_TEST_DATA "/models/fixtures/llava_token_counts.json");
  return nlohmann::json::parse(file);
}

std::vector<std::pair<int, int>> pinpoints(const nlohmann::json& f) {
  std::vector<std::pair<int, int>> out;
  for (const auto& p : f.at("pinpoints")) out.emplace_back(p[0].get<int>(), p[1].get<int>());
  return out;
}

TEST(LlavaPacking, NamedSizesGiveTransformersCounts) {
  const auto f = fixture();
  const auto pins = pinpoints(f);
  // (height, width): 384x384, 640x480 (w x h), 1000x300, 2000x2000.
  EXPECT_EQ(pack_layout({384, 384}, pins, 384, 14, 9).tokens(), 1485);  // 729 + 27 * (27 + 1)
  for (const auto& c : f.at("counts")) {
    const int h = c.at("height"), w = c.at("width");
    const bool named = (h == 480 && w == 640) || (h == 300 && w == 1000) || (h == 2000 && w == 2000) || (h == 384 && w == 384);
    if (named) { EXPECT_EQ(pack_layout({h, w}, pins, 384, 14, 9).tokens(), c.at("tokens").get<std::int64_t>()) << h << "x" << w; }
  }
}

TEST(LlavaPacking, EveryFixtureSizeMatches) {
  const auto f = fixture();
  const auto pins = pinpoints(f);
  int checked = 0;
  for (const auto& c : f.at("counts")) {
    const int h = c.at("height"), w = c.at("width");
    const PackLayout p = pack_layout({h, w}, pins, 384, 14, 9);
    EXPECT_EQ(p.tokens(), c.at("tokens").get<std::int64_t>()) << h << "x" << w;
    const auto best = vision::select_best_resolution({h, w}, pins);
    EXPECT_EQ(best.first, c.at("best")[0].get<int>()) << h << "x" << w;
    EXPECT_EQ(best.second, c.at("best")[1].get<int>()) << h << "x" << w;
    ++checked;
  }
  EXPECT_GT(checked, 300);
}

TEST(LlavaPacking, AnnotationsCoverBaseThenGridWithNewlines) {
  const auto pins = pinpoints(fixture());
  const PackLayout p = pack_layout({480, 640}, pins, 384, 14, 9);
  const auto a = pack_annotations(p);
  ASSERT_EQ(static_cast<std::int64_t>(a.size()), p.tokens());
  EXPECT_EQ(a[0].crop, 0);
  EXPECT_EQ(a[728].row, 26);
  EXPECT_EQ(a[728].col, 26);
  EXPECT_EQ(a[729].crop, 1);
  EXPECT_EQ(a[729].row, 0);
  EXPECT_EQ(a[729].col, 0);
  EXPECT_EQ(a[729 + p.out_cols].col, p.out_cols);  // the first row's newline
  EXPECT_EQ(a.back().row, p.out_rows - 1);
  for (const auto& t : a) EXPECT_EQ(t.modality, Modality::image);
}

TEST(LlavaPacking, ModelPackingAgreesWithTheProcessorsTokenRule) {
  // The two sides HF keeps consistent: the processor's placeholder count and
  // the model's packed feature count.
  const auto f = fixture();
  vision::LlavaOnevisionProcessorConfig config;
  config.grid_pinpoints = pinpoints(f);
  for (const auto& c : f.at("counts")) {
    const int h = c.at("height"), w = c.at("width");
    EXPECT_EQ(vision::llava_onevision_image_tokens(h, w, config).total,
              pack_layout({h, w}, config.grid_pinpoints, 384, 14, 9).tokens()) << h << "x" << w;
  }
}

}  // namespace
}  // namespace mechlens::models::llava_onevision
