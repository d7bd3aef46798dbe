#include "report/heatmap.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

namespace {

struct Image {
  int width = 0, height = 0;
  std::vector<unsigned char> rgb;
  const unsigned char* at(int x, int y) const { return &rgb[(y * width + x) * 3]; }
};

Image render(const mechlens::report::Heatmap& map) {
  const auto path = std::filesystem::temp_directory_path() / ("heatmap-" + std::to_string(::getpid()) + ".png");
  mechlens::report::write_heatmap_png(path.string(), map);
  Image image;
  int channels = 0;
  unsigned char* data = stbi_load(path.c_str(), &image.width, &image.height, &channels, 3);
  EXPECT_NE(data, nullptr);
  if (data) image.rgb.assign(data, data + image.width * image.height * 3);
  stbi_image_free(data);
  std::filesystem::remove(path);
  return image;
}

// Cell (r, c)'s centre, from the layout the renderer documents: 70 px left
// margin, 40 px top margin, square cells of 640 / max(rows, cols) clamped to [6, 40].
const unsigned char* cell(const Image& image, const mechlens::report::Heatmap& map, int r, int c) {
  const int size = std::clamp(640 / std::max(map.rows, map.cols), 6, 40);
  return image.at(70 + c * size + size / 2, 40 + r * size + size / 2);
}

TEST(Heatmap, DivergingColoursFollowTheSign) {
  mechlens::report::Heatmap map;
  map.title = "test";
  map.rows = 2, map.cols = 3;
  map.values = {-1.0, 0.0, 1.0, 0.5, NAN, -0.25};
  const Image image = render(map);
  ASSERT_GT(image.width, 3 * 40);
  const auto* neg = cell(image, map, 0, 0);
  EXPECT_GT(neg[2], neg[0]);  // blue
  const auto* zero = cell(image, map, 0, 1);
  EXPECT_EQ(zero[0], 255);
  EXPECT_EQ(zero[1], 255);
  EXPECT_EQ(zero[2], 255);
  const auto* pos = cell(image, map, 0, 2);
  EXPECT_GT(pos[0], pos[2]);  // red
  const auto* half = cell(image, map, 1, 0);
  EXPECT_GT(half[1], pos[1]);  // lighter than the extreme
  const auto* nan = cell(image, map, 1, 1);
  EXPECT_EQ(nan[0], 200);
  EXPECT_EQ(nan[0], nan[2]);
}

TEST(Heatmap, PositiveOnlyMapsAreSequential) {
  mechlens::report::Heatmap map;
  map.rows = 1, map.cols = 2;
  map.values = {0.0, 2.0};
  const Image image = render(map);
  const auto* low = cell(image, map, 0, 0);
  const auto* high = cell(image, map, 0, 1);
  EXPECT_EQ(low[1], 255);
  EXPECT_LT(high[1], 100);
}

TEST(Heatmap, WrongSizeIsAnError) {
  mechlens::report::Heatmap map;
  map.rows = 2, map.cols = 2;
  map.values = {1.0};
  EXPECT_THROW(mechlens::report::write_heatmap_png("/tmp/never.png", map), std::exception);
}

}  // namespace

#include "report/figure_folder.hpp"

namespace {

TEST(FigureFolder, WritesOnePngPerFigureUnderTheRunsFolder) {
  const auto root = std::filesystem::temp_directory_path() / ("figures-" + std::to_string(::getpid()));
  const std::string dir = mechlens::report::figure_directory((root / "out.h5").string(), "run_0002", "sens matrix");
  EXPECT_EQ(dir, (root / "out_figures" / "run_0002" / "sens_matrix").string());
  mechlens::report::FigureFolder folder(dir);
  folder.heatmap("kl/input 0", "t", 2, 2, {0, 1, 2, 3}, "layer", "head");
  ASSERT_EQ(folder.written().size(), 1u);
  EXPECT_EQ(folder.written()[0], dir + "/kl_input_0.png");
  EXPECT_TRUE(std::filesystem::exists(folder.written()[0]));
  std::filesystem::remove_all(root);
}

}  // namespace
