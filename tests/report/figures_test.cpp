// The figures a run writes, drawn with cairo: decoded back to pixels and
// checked where the layout says each value is drawn.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "report/figure_folder.hpp"
#include "report/render.hpp"
#include "vision/image.hpp"

namespace {

using namespace mechlens;
using report::ImageFormat;

vision::RgbImage decode(const std::string& png) {
  return vision::decode_image_bytes(reinterpret_cast<const std::uint8_t*>(png.data()), png.size(), "figure");
}

struct Pixel {
  int r, g, b;
};
Pixel at(const vision::RgbImage& image, double x, double y) {
  const int xi = static_cast<int>(x), yi = static_cast<int>(y);
  return {image.at(yi, xi, 0), image.at(yi, xi, 1), image.at(yi, xi, 2)};
}

Pixel cell(const vision::RgbImage& image, const HeatmapFigure& f, int r, int c) {
  const auto L = report::heatmap_layout(f);
  return at(image, L.left + (c + 0.5) * L.cell_w, L.top + (r + 0.5) * L.cell_h);
}

// Dark pixels: text, lines, marks.
int ink(const vision::RgbImage& image, double x0, double y0, double x1, double y1) {
  int n = 0;
  for (int y = static_cast<int>(y0); y < static_cast<int>(y1); ++y)
    for (int x = static_cast<int>(x0); x < static_cast<int>(x1); ++x)
      n += image.at(y, x, 0) < 128 && image.at(y, x, 1) < 128 && image.at(y, x, 2) < 128;
  return n;
}

HeatmapFigure map(int rows, int cols, std::vector<double> values) {
  HeatmapFigure f;
  f.name = "m";
  f.title = "a heat map";
  f.rows = rows, f.cols = cols, f.values = std::move(values);
  return f;
}

TEST(HeatmapFigure, DivergingColoursFollowTheSign) {
  const HeatmapFigure f = map(2, 3, {-1.0, 0.0, 1.0, 0.5, NAN, -0.25});
  const auto image = decode(report::render(f, ImageFormat::png));
  const Pixel neg = cell(image, f, 0, 0), zero = cell(image, f, 0, 1), pos = cell(image, f, 0, 2);
  EXPECT_GT(neg.b, neg.r);  // blue
  EXPECT_EQ(zero.r, 255);
  EXPECT_EQ(zero.g, 255);
  EXPECT_EQ(zero.b, 255);
  EXPECT_GT(pos.r, pos.b);  // red
  EXPECT_GT(cell(image, f, 1, 0).g, pos.g);  // lighter than the extreme
  const Pixel nan = cell(image, f, 1, 1);
  EXPECT_EQ(nan.r, 200);
  EXPECT_EQ(nan.r, nan.b);
  EXPECT_GT(ink(image, 0, 0, image.width, 30), 50) << "the title is drawn";
}

TEST(HeatmapFigure, PositiveOnlyMapsAreSequentialAndAGivenRangeIsUsed) {
  HeatmapFigure f = map(1, 2, {0.0, 2.0});
  auto image = decode(report::render(f, ImageFormat::png));
  EXPECT_EQ(cell(image, f, 0, 0).g, 255);
  EXPECT_LT(cell(image, f, 0, 1).g, 100);
  f.range = std::array<double, 2>{0.0, 20.0};  // 2 of 20: pale
  image = decode(report::render(f, ImageFormat::png));
  EXPECT_GT(cell(image, f, 0, 1).g, 200);
}

TEST(HeatmapFigure, CellTextIsWrittenInEachCell) {
  HeatmapFigure f = map(2, 2, {0, 0, 0, 0});
  f.cell_text = {"red", "blue", "plane", "the"};
  f.col_names = {"first position", "second"};
  const auto image = decode(report::render(f, ImageFormat::png));
  const auto L = report::heatmap_layout(f);
  EXPECT_GE(L.cell_w, report::text_width("plane", 10));
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 2; ++c)
      EXPECT_GT(ink(image, L.left + c * L.cell_w, L.top + r * L.cell_h, L.left + (c + 1) * L.cell_w,
                    L.top + (r + 1) * L.cell_h),
                3)
          << r << "," << c;
}

TEST(HeatmapFigure, WrongSizesAreErrorsNamingTheFigure) {
  try {
    report::render(map(2, 2, {1.0}), ImageFormat::png);
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("figure 'm'"), std::string::npos) << e.what();
  }
  HeatmapFigure f = map(1, 2, {1, 2});
  f.cell_text = {"x"};
  EXPECT_THROW(report::render(f, ImageFormat::png), std::exception);
}

TEST(Figures, SvgIsAVectorFileWithText) {
  const std::string svg = report::render(map(2, 2, {1, 2, 3, 4}), ImageFormat::svg);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("glyph"), std::string::npos);  // cairo embeds the text's glyphs
}

TEST(LineFigure, EachSeriesIsDrawnInItsColour) {
  LineFigure f;
  f.name = "rank";
  f.title = "rank of the target";
  f.x = {0, 1, 2, 3};
  f.series = {{"first", {1, 2, 3, 4}}, {"second", {4, 3, 2, 1}}};
  const auto image = decode(report::render(f, ImageFormat::png));
  int blue = 0, orange = 0;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) {
      const Pixel p = at(image, x, y);
      blue += std::abs(p.r - 0x4e) < 8 && std::abs(p.g - 0x79) < 8 && std::abs(p.b - 0xa7) < 8;
      orange += std::abs(p.r - 0xf2) < 8 && std::abs(p.g - 0x8e) < 8 && std::abs(p.b - 0x2b) < 8;
    }
  EXPECT_GT(blue, 200);
  EXPECT_GT(orange, 200);
  f.series[1].y.pop_back();
  EXPECT_THROW(report::render(f, ImageFormat::png), std::exception);
}

TEST(ScatterFigure, EachGroupIsDrawnInItsColourAndEdgesAreChecked) {
  ScatterFigure f;
  f.name = "qk";
  f.x = {0, 10};
  f.y = {0, 10};
  f.group = {0, 1};
  f.group_names = {"queries", "keys"};
  f.edges = {{0, 1, 0.5}};
  const auto image = decode(report::render(f, ImageFormat::png));
  int orange = 0;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) {
      const Pixel p = at(image, x, y);
      orange += std::abs(p.r - 0xf2) < 30 && std::abs(p.g - 0x8e) < 30 && std::abs(p.b - 0x2b) < 30;
    }
  EXPECT_GT(orange, 20);  // the key and its legend mark
  f.edges = {{0, 5, 1.0}};
  EXPECT_THROW(report::render(f, ImageFormat::png), std::exception);
}

TEST(ImageOverlayFigure, CellsTintTheImageWhereTheGridSays) {
  const auto dir = std::filesystem::temp_directory_path() / ("overlay-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ImageOverlayFigure f;
  f.name = "lens";
  f.image_path = (dir / "white.png").string();
  {
    HeatmapFigure white = map(1, 1, {0.0});  // an all-white picture (one white cell, no title)
    white.title = "";
    std::ofstream(f.image_path, std::ios::binary) << report::render(white, ImageFormat::png);
  }
  const auto source = vision::decode_image(f.image_path);
  f.rows = 1, f.cols = 2;
  f.values = {-1.0, 1.0};
  f.region = {0.5, 0.0, 1.0, 1.0};  // the grid covers the right half only
  const auto image = decode(report::render(f, ImageFormat::png));
  const double scale = 512.0 / std::max(source.width, source.height);
  const double w = source.width * scale, h = source.height * scale;
  const auto L = report::heatmap_layout(map(1, 1, {0.0}));
  // Inside the source's white cell, left of the grid: untouched.
  const Pixel untouched = at(image, 10 + (L.left + 0.5 * L.cell_w) * scale, 40 + (L.top + 0.5 * L.cell_h) * scale);
  const Pixel blue = at(image, 10 + 0.625 * w, 40 + 0.5 * h);
  const Pixel red = at(image, 10 + 0.875 * w, 40 + 0.5 * h);
  EXPECT_EQ(untouched.r, 255);
  EXPECT_GT(blue.b, blue.r + 40);
  EXPECT_GT(red.r, red.b + 40);
  f.image_path = (dir / "missing.png").string();
  EXPECT_THROW(report::render(f, ImageFormat::png), std::exception);
  std::filesystem::remove_all(dir);
}

TEST(TokenStripFigure, RelevantTokensAreColoured) {
  TokenStripFigure f;
  f.name = "relevance";
  f.tokens = {"the", "cat", "sat"};
  f.values = {0.0, 1.0, 0.0};
  const auto image = decode(report::render(f, ImageFormat::png));
  int red = 0;
  for (int y = 40; y < 60; ++y)
    for (int x = 0; x < image.width; ++x) red += image.at(y, x, 0) > 150 && image.at(y, x, 1) < 60;
  EXPECT_GT(red, 100);
  f.values.pop_back();
  EXPECT_THROW(report::render(f, ImageFormat::png), std::exception);
}

TEST(FigureFolder, WritesOneFilePerFigureAndFormatUnderTheRunsFolder) {
  const auto root = std::filesystem::temp_directory_path() / ("figures-" + std::to_string(::getpid()));
  const std::string dir = report::figure_directory((root / "out.h5").string(), "run_0002", "sens matrix");
  EXPECT_EQ(dir, (root / "out_figures" / "run_0002" / "sens_matrix").string());
  report::FigureFolder folder(dir, {ImageFormat::png, ImageFormat::svg});
  Figures& sink = folder;
  sink.heatmap("kl/input 0", "t", 2, 2, {0, 1, 2, 3}, "layer", "head");
  ASSERT_EQ(folder.written().size(), 2u);
  EXPECT_EQ(folder.written()[0], dir + "/kl_input_0.png");
  EXPECT_EQ(folder.written()[1], dir + "/kl_input_0.svg");
  for (const auto& path : folder.written()) EXPECT_TRUE(std::filesystem::exists(path));
  std::filesystem::remove_all(root);
}

}  // namespace
