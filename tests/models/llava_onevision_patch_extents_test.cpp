// Where each LLaVA-OneVision image token looks in the original image
// (TokenAnnotation::x0..y1), checked by hand on a base crop and on the packed
// high-res grid, with the processor's padding and the model's unpadding.
//
// Crops of 48 px, patches of 8 (6 x 6 per crop), pinpoints 48x48, 48x96,
// 96x48, 96x96. A 96 x 30 image (w x h): best resolution 48 x 96 (h x w, two
// tiles side by side); resized keeping the aspect to 96 x 30, padded by 9 rows
// above and 9 below; unpad keeps patch rows 1..4 of the 6 (new_h = round(30 *
// 12 / 96) = 4, padding (6 - 4) / 2 = 1).
//   base patch (r, c): x [16c, 16c + 16), y [5r, 5r + 5)   (96/48 = 2, 30/48 = 0.625)
//   grid cell (r, c): canvas rows [8(r+1), 8(r+1) + 8) - 9 = [8r - 1, 8r + 7), cut to [0, 30)
// The box [40, 10, 50, 12] then overlaps base (2, 2), (2, 3) and grid (1, 5), (1, 6).
#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "models/llava_onevision/llava_packing.hpp"
#include "models/llava_onevision/llava_patch_extents.hpp"
#include "vision/anyres.hpp"

namespace mechlens::models::llava_onevision {
namespace {

vision::LlavaOnevisionProcessorConfig config() {
  vision::LlavaOnevisionProcessorConfig c;
  c.crop_height = c.crop_width = 48;
  c.grid_pinpoints = {{48, 48}, {48, 96}, {96, 48}, {96, 96}};
  return c;
}

std::vector<TokenAnnotation> extents(int height, int width, PackLayout* layout_out = nullptr) {
  const auto c = config();
  const vision::AnyresPlan plan = vision::plan_anyres(height, width, c);
  const PackLayout layout = pack_layout({height, width}, c.grid_pinpoints, 48, 8, 9);
  if (layout_out) *layout_out = layout;
  std::vector<TokenAnnotation> a = pack_annotations(layout);
  set_patch_extents(a, layout,
                    {height, width, plan.resized_height, plan.resized_width, plan.pad_top, plan.pad_left, plan.tile}, 48, 8);
  return a;
}

const TokenAnnotation& cell(const std::vector<TokenAnnotation>& a, int crop, int row, int col) {
  for (const auto& t : a)
    if (t.crop == crop && t.row == row && t.col == col) return t;
  throw std::runtime_error("no such cell");
}

void expect_box(const TokenAnnotation& t, float x0, float y0, float x1, float y1, const std::string& what) {
  EXPECT_FLOAT_EQ(t.x0, x0) << what;
  EXPECT_FLOAT_EQ(t.y0, y0) << what;
  EXPECT_FLOAT_EQ(t.x1, x1) << what;
  EXPECT_FLOAT_EQ(t.y1, y1) << what;
}

TEST(LlavaPatchExtents, PlanAndLayoutAreTheOnesWorkedOutByHand) {
  const vision::AnyresPlan plan = vision::plan_anyres(30, 96, config());
  EXPECT_EQ(plan.best_height, 48);
  EXPECT_EQ(plan.best_width, 96);
  EXPECT_EQ(plan.resized_height, 30);
  EXPECT_EQ(plan.pad_top, 9);
  EXPECT_EQ(plan.pad_bottom, 9);
  EXPECT_EQ(plan.pad_left, 0);
  PackLayout layout;
  extents(30, 96, &layout);
  EXPECT_EQ(layout.side, 6);
  EXPECT_EQ(layout.tiles_rows, 1);
  EXPECT_EQ(layout.tiles_cols, 2);
  EXPECT_EQ(layout.top, 1);
  EXPECT_EQ(layout.rows, 4);
  EXPECT_EQ(layout.cols, 12);
  EXPECT_FALSE(layout.downscaled);
}

TEST(LlavaPatchExtents, BaseCropPatchesScaleBackToTheOriginal) {
  const auto a = extents(30, 96);
  expect_box(cell(a, 0, 0, 0), 0, 0, 16, 5, "base (0, 0)");
  expect_box(cell(a, 0, 2, 3), 48, 10, 64, 15, "base (2, 3)");
  expect_box(cell(a, 0, 5, 5), 80, 25, 96, 30, "base (5, 5)");
}

TEST(LlavaPatchExtents, GridCellsUndoUnpadAndPadding) {
  const auto a = extents(30, 96);
  // Row 0 is canvas patch row 1: [8, 16) - 9 = [-1, 7), the padding pixel cut off.
  expect_box(cell(a, 1, 0, 0), 0, 0, 8, 7, "grid (0, 0)");
  expect_box(cell(a, 1, 1, 6), 48, 7, 56, 15, "grid (1, 6): the second tile's first column");
  expect_box(cell(a, 1, 3, 11), 88, 23, 96, 30, "grid (3, 11): cut at the bottom padding");
  // Newline tokens see no pixels.
  const auto& newline = cell(a, 1, 0, 12);
  EXPECT_TRUE(newline.separator);
  EXPECT_FALSE(newline.x1 > newline.x0);
}

TEST(LlavaPatchExtents, ABoxOverlapsTheCellsWorkedOutByHand) {
  const auto a = extents(30, 96);
  const float box[4] = {40, 10, 50, 12};
  std::set<std::tuple<int, int, int>> hit;
  for (const auto& t : a)
    if (t.x1 > t.x0 && t.x0 < box[2] && t.x1 > box[0] && t.y0 < box[3] && t.y1 > box[1]) hit.emplace(t.crop, t.row, t.col);
  const std::set<std::tuple<int, int, int>> expected = {{0, 2, 2}, {0, 2, 3}, {1, 1, 5}, {1, 1, 6}};
  EXPECT_EQ(hit, expected);
}

TEST(LlavaPatchExtents, PatchesNotFillingATileLeaveItsLastPixelsUnseen) {
  // 27 patches of 14 px cover 378 of a 384 px tile (SigLIP's stride): the
  // first patch of the second tile starts at canvas 384, not 378.
  vision::LlavaOnevisionProcessorConfig c;
  c.grid_pinpoints = {{384, 768}};
  const vision::AnyresPlan plan = vision::plan_anyres(384, 768, c);
  const PackLayout layout = pack_layout({384, 768}, c.grid_pinpoints, 384, 14, 9);
  std::vector<TokenAnnotation> a = pack_annotations(layout);
  set_patch_extents(a, layout, {384, 768, plan.resized_height, plan.resized_width, plan.pad_top, plan.pad_left, plan.tile},
                    384, 14);
  expect_box(cell(a, 1, 0, 26), 364, 0, 378, 14, "last patch of tile 0");
  expect_box(cell(a, 1, 0, 27), 384, 0, 398, 14, "first patch of tile 1");
}

}  // namespace
}  // namespace mechlens::models::llava_onevision
