// Phi-4-mm's dynamic HD transform (models/phi4mm/phi4mm_hd_transform) against
// an independent Python transcription of processing_phi4mm.py
// (reference/phi4mm_vision_reference.py): crop grid, resize, padding, patch
// mask and num_img_tokens for many image sizes (the > 36-crop aspect-ratio
// path included), the uint8 canvas and the normalised pixels (PIL BILINEAR,
// white pad, bicubic global view), and hand-counted token numbers.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mechlens/error.hpp"
#include "models/phi4mm/phi4mm_hd_transform.hpp"
#include "python_requirement.hpp"
#include "tiny_qwen2_support.hpp"  // Scratch, run_reference
#include "vision/image.hpp"

namespace mechlens {
namespace {

using models::phi4mm::HdConfig;
using models::phi4mm::HdGeometry;
using models::phi4mm::hd_geometry;
using testing::Scratch;

std::string fixture(const std::string& name) { return std::string(MECHLENS_TEST_DATA) + "/vision/fixtures/" + name; }

std::vector<std::int64_t> fields(const HdGeometry& g) {
  return {g.crops_w,   g.crops_h,   g.resized_w,  g.resized_h,  g.pad_w,   g.pad_h,
          g.mask_rows, g.mask_cols, g.token_rows, g.token_cols, g.tokens()};
}

TEST(Phi4mmHdTransform, HandCountedTokens) {
  const HdConfig c;  // 448, patch 14, dynamic_hd 36
  // One crop, nothing padded: 256 + 1 + 256 + 16 + 16.
  EXPECT_EQ(hd_geometry(448, 448, c).tokens(), 545);
  // Two crops side by side: 256 + 1 + 16 x 32 + 16 + 16.
  EXPECT_EQ(hd_geometry(896, 448, c).tokens(), 801);
  // 1000 x 500: 3 x 2 crops, resized to 1344 x 672, 224 px of white below =
  // 16 of 64 patch rows, so 24 of 32 token rows: 256 + 1 + 24 x 48 + 24 + 16.
  const HdGeometry g = hd_geometry(1000, 500, c);
  EXPECT_EQ(g.crops_w, 3);
  EXPECT_EQ(g.crops_h, 2);
  EXPECT_EQ(g.resized_h, 672);
  EXPECT_EQ(g.pad_h, 224);
  EXPECT_EQ(g.token_rows, 24);
  EXPECT_EQ(g.tokens(), 256 + 1 + 24 * 48 + 24 + 16);
  // 6000 x 6000 wants 14 x 14 crops > 36: the closest ratio 1:1 with the
  // largest product that fits, 6 x 6.
  const HdGeometry big = hd_geometry(6000, 6000, c);
  EXPECT_EQ(big.crops_w, 6);
  EXPECT_EQ(big.crops_h, 6);
  EXPECT_EQ(big.tokens(), 256 + 1 + 96 * 96 + 96 + 16);
}

TEST(Phi4mmHdTransform, CropAndTokenCountsMatchTheProcessorRules) {
  MECHLENS_REQUIRE_PYTHON("torch", "numpy");
  std::vector<std::pair<int, int>> sizes = {
      {448, 448},   {447, 448},   {449, 448},  {448, 449},  {1, 1},      {13, 13},     {100, 100},  {640, 480},
      {480, 640},   {1000, 500},  {500, 1000}, {1920, 1080}, {1080, 1920}, {4032, 3024}, {3024, 4032}, {2688, 2688},
      {2689, 2688}, {6000, 6000}, {5000, 300}, {300, 5000}, {20000, 100}, {100, 20000}, {16128, 448}, {16129, 448},
      {7000, 5000}, {3000, 2000}, {2000, 3000}, {2017, 1511}, {8192, 4096}, {4096, 8192}, {10, 1000},  {5, 1000},
      {1000, 5},    {37, 53},     {61, 45},    {2600, 500}, {500, 2600}, {13440, 3360}, {3361, 13440}, {900, 899}};
  // A sweep of odd sizes, both sides of the 36-crop limit.
  for (int w = 97; w < 9000; w += 611)
    for (int h = 53; h < 9000; h += 857) sizes.emplace_back(w, h);
  // One Python run for every (size, config).
  const std::vector<HdConfig> configs = {HdConfig{}, HdConfig{112, 14, 36}, HdConfig{448, 14, 16}};
  nlohmann::json request;
  for (const HdConfig& c : configs)
    for (const auto& [w, h] : sizes) request["cases"].push_back({w, h, c.crop_size, c.patch_size, c.dynamic_hd});
  Scratch scratch;
  const auto ref = testing::run_reference("phi4mm_vision_reference.py geometry", "-", request, scratch);
  const at::Tensor expected = ref.at("geometry").to(at::kLong);
  ASSERT_EQ(expected.size(0), static_cast<std::int64_t>(sizes.size() * configs.size()));
  std::int64_t row = 0;
  for (const HdConfig& c : configs) {
    int over_limit = 0, refused = 0;
    for (const auto& [w, h] : sizes) {
      const at::Tensor want_row = expected[row++].contiguous();
      const std::string what = std::to_string(w) + " x " + std::to_string(h) + " at crop " + std::to_string(c.crop_size) +
                               ", dynamic_hd " + std::to_string(c.dynamic_hd);
      if (want_row[0].item<std::int64_t>() < 0) {
        EXPECT_THROW(hd_geometry(w, h, c), Error) << what;
        ++refused;
        continue;
      }
      const HdGeometry g = hd_geometry(w, h, c);
      const std::vector<std::int64_t> want(want_row.data_ptr<std::int64_t>(), want_row.data_ptr<std::int64_t>() + want_row.size(0));
      EXPECT_EQ(fields(g), want) << what;
      over_limit += (w + c.crop_size - 1) / c.crop_size * ((h + c.crop_size - 1) / c.crop_size) > c.dynamic_hd;
    }
    EXPECT_GT(over_limit, 10) << "the sizes must exercise the closest-aspect-ratio path";
    EXPECT_GT(refused, 0) << "the sizes must include one the processor refuses";
  }
}

TEST(Phi4mmHdTransform, PixelsMatchThePythonProcessor) {
  MECHLENS_REQUIRE_PYTHON("torch", "numpy", "PIL");
  const std::vector<std::pair<std::string, HdConfig>> cases = {
      // 61 x 45 at crop 56: 2 x 1 crops, upscaled, 37 px of white on the right (2 patch columns masked).
      {"w61h45.png", {56, 14, 36}},
      // 640 x 480 at crop 56 wants 12 x 9 crops: the 4 x 3 aspect ratio, downscaled (antialiased bilinear).
      {"w640h480.png", {56, 14, 36}},
      // 37 x 53 at crop 112: one crop, padded on the right; the global view upscales.
      {"w37h53.png", {112, 14, 36}},
      // 300 x 1000 at crop 56 wants 6 x 18 crops: exactly the 3 x 10 aspect ratio.
      // (No JPEG here: stb_image and libjpeg decode a few levels apart.)
      {"w300h1000.png", {56, 14, 36}}};
  nlohmann::json request;
  for (const auto& [name, c] : cases)
    request["images"].push_back(
        {{"image", fixture(name)}, {"crop_size", c.crop_size}, {"patch_size", c.patch_size}, {"dynamic_hd", c.dynamic_hd}});
  Scratch scratch;
  const auto ref = testing::run_reference("phi4mm_vision_reference.py preprocess", "-", request, scratch);
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const auto& [name, c] = cases[k];
    const std::string K = std::to_string(k);
    const vision::RgbImage image = vision::decode_image(fixture(name));
    const models::phi4mm::HdImage hd = models::phi4mm::hd_transform(image, c);
    // The canvas (PIL BILINEAR resize, white pad) is exact.
    const vision::RgbImage canvas = models::phi4mm::hd_canvas(image, hd.geometry, c.crop_size);
    const at::Tensor mine = at::from_blob(const_cast<std::uint8_t*>(canvas.pixels.data()),
                                          {canvas.height, canvas.width, 3}, at::kByte).to(at::kDouble);
    ASSERT_EQ(mine.sizes(), ref.at("canvas_" + K).sizes()) << name;
    EXPECT_EQ(testing::max_abs_diff(mine, ref.at("canvas_" + K)), 0.0) << name;
    const at::Tensor want = ref.at("pixel_values_" + K);
    ASSERT_EQ(hd.pixel_values.sizes(), want.sizes()) << name;
    // Crops: float32 (u / 255 - 0.5) / 0.5 vs float64; the global view's bicubic in float32.
    EXPECT_LT(testing::max_abs_diff(hd.pixel_values.narrow(0, 1, hd.geometry.crops()), want.narrow(0, 1, hd.geometry.crops())),
              1e-6)
        << name;
    EXPECT_LT(testing::max_abs_diff(hd.pixel_values[0], want[0]), 2e-5) << name;
    EXPECT_TRUE(at::equal(hd.patch_mask.to(at::kDouble), ref.at("patch_mask_" + K))) << name;
  }
}

TEST(Phi4mmHdTransform, AnnotationsFollowTheGridInModelOrder) {
  const HdConfig c;
  const HdGeometry g = hd_geometry(1000, 500, c);  // 24 x 48 kept sub tokens
  const auto ann = models::phi4mm::hd_annotations(g, c);
  ASSERT_EQ(static_cast<std::int64_t>(ann.size()), g.tokens());
  std::size_t i = 0;
  for (int r = 0; r < g.token_rows; ++r) {
    for (int col = 0; col < g.token_cols; ++col, ++i) {
      EXPECT_EQ(ann[i].modality, Modality::image);
      EXPECT_FALSE(ann[i].separator);
      EXPECT_EQ(ann[i].crop, 1);
      ASSERT_EQ(ann[i].row, r);
      ASSERT_EQ(ann[i].col, col);
    }
    EXPECT_TRUE(ann[i].separator);  // sub_GN after each kept row
    EXPECT_EQ(ann[i].crop, 1);
    EXPECT_EQ(ann[i].row, r);
    EXPECT_EQ(ann[i].col, g.token_cols);
    ++i;
  }
  EXPECT_TRUE(ann[i].separator);  // glb_GN
  EXPECT_EQ(ann[i].crop, -1);
  ++i;
  for (int r = 0; r < 16; ++r) {
    for (int col = 0; col < 16; ++col, ++i) {
      EXPECT_EQ(ann[i].crop, 0);
      ASSERT_EQ(ann[i].row, r);
      ASSERT_EQ(ann[i].col, col);
      EXPECT_FALSE(ann[i].separator);
    }
    EXPECT_TRUE(ann[i].separator);
    EXPECT_EQ(ann[i].col, 16);
    ++i;
  }
  EXPECT_EQ(i, ann.size());

  // Extents in original pixels: the image (1000 x 500) was scaled by 1.344;
  // sub token (0, 0) sees canvas [0, 28) -> [0, 20.83) of the original.
  EXPECT_FLOAT_EQ(ann[0].x0, 0.0f);
  EXPECT_NEAR(ann[0].x1, 28 / 1.344, 1e-4);
  EXPECT_NEAR(ann[0].y1, 28 / 1.344, 1e-4);
  // The last kept sub row (23) sees canvas rows [644, 672): inside the image, at its bottom.
  const auto& last = ann[std::size_t(23 * (g.token_cols + 1))];
  EXPECT_NEAR(last.y1, 500.0, 1e-3);
  EXPECT_GT(last.y1, last.y0);
  // Global view: the canvas (1344 x 896) squeezed to 448: row 15 sees canvas
  // rows [840, 896), all padding (the image ends at 672): empty.
  const std::size_t global0 = std::size_t(g.token_rows * (g.token_cols + 1) + 1);
  const auto& padded = ann[global0 + 15 * 17];
  EXPECT_LE(padded.y1, padded.y0);
  // Global token (0, 15) sees canvas columns [1260, 1344): the right edge of the original.
  EXPECT_NEAR(ann[global0 + 15].x1, 1000.0, 1e-3);
}

TEST(Phi4mmHdTransform, RefusesWhatTheProcessorRefuses) {
  EXPECT_THROW(hd_geometry(5, 1000, {}), Error);  // resized to 2 px wide: "the aspect ratio is very extreme"
  EXPECT_THROW(hd_geometry(0, 10, {}), Error);
  EXPECT_THROW(hd_geometry(100, 100, {448, 15, 36}), Error);  // crop not a multiple of the patch
}

}  // namespace
}  // namespace mechlens
