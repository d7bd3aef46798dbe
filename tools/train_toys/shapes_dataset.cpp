#include "shapes_dataset.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "mechlens/error.hpp"
#include "tiny_tensors.hpp"

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace mechlens::toys {
namespace {

struct Rgb {
  int r, g, b;
};

// Saturated colours, far from the greyish background.
const Rgb kColourRgb[] = {{215, 35, 35}, {40, 170, 60}, {40, 75, 215}, {225, 205, 40}};

// Uniform integer in [lo, hi] from the raw engine output: the standard
// distributions are implementation-defined, this is the same everywhere.
int uniform(std::mt19937_64& rng, int lo, int hi) {
  return lo + static_cast<int>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
}

std::uint8_t clip(int v) { return static_cast<std::uint8_t>(std::clamp(v, 0, 255)); }

bool inside(int kind, int x, int y, int x0, int y0, int s) {
  const double px = x + 0.5 - x0, py = y + 0.5 - y0, half = s / 2.0;
  switch (kind) {
    case 0: return true;                                                  // square: the whole box
    case 1: return (px - half) * (px - half) + (py - half) * (py - half) <= half * half;  // circle
    default: return std::abs(px - half) <= half * (py / s);               // triangle, apex up
  }
}

}  // namespace

const char* const kColourQuestion = "What colour is the shape?";
const char* const kLeftQuestion = "Is the shape on the left or the right?";

const std::vector<std::string>& shape_colours() {
  static const std::vector<std::string> names = {"red", "green", "blue", "yellow"};
  return names;
}

const std::vector<std::string>& shape_kinds() {
  static const std::vector<std::string> names = {"square", "circle", "triangle"};
  return names;
}

std::string colour_answer(const ShapeSample& s) { return shape_colours()[s.colour]; }
std::string left_answer(const ShapeSample& s) { return s.left ? "left" : "right"; }

ShapeSample generate_shape(std::mt19937_64& rng, const ShapesGeometry& g) {
  ShapeSample s;
  const int S = g.image_size;
  s.size = S;
  s.rgb.resize(std::size_t(S) * S * 3);
  s.kind = uniform(rng, 0, static_cast<int>(shape_kinds().size()) - 1);
  s.colour = uniform(rng, 0, static_cast<int>(shape_colours().size()) - 1);
  const int side = uniform(rng, 10, 16);
  // Far enough from the vertical midline that "left" is never ambiguous.
  do {
    s.x0 = uniform(rng, 1, S - side - 1);
  } while (std::abs(2 * s.x0 + side - S) < 6);
  s.y0 = uniform(rng, 1, S - side - 1);
  s.x1 = s.x0 + side, s.y1 = s.y0 + side;
  s.left = 2 * s.x0 + side < S;

  // Background: a random grey with a random tint, plus per-pixel noise.
  const int grey = uniform(rng, 70, 180);
  const int tint[3] = {uniform(rng, -25, 25), uniform(rng, -25, 25), uniform(rng, -25, 25)};
  const Rgb base = kColourRgb[s.colour];
  const int shade[3] = {base.r + uniform(rng, -20, 20), base.g + uniform(rng, -20, 20), base.b + uniform(rng, -20, 20)};
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      std::uint8_t* p = &s.rgb[(std::size_t(y) * S + x) * 3];
      const bool object = x >= s.x0 && x < s.x1 && y >= s.y0 && y < s.y1 && inside(s.kind, x, y, s.x0, s.y0, side);
      for (int c = 0; c < 3; ++c)
        p[c] = object ? clip(shade[c] + uniform(rng, -12, 12)) : clip(grey + tint[c] + uniform(rng, -35, 35));
    }

  const int P = g.patch_size;
  for (int r = 0; r < g.grid(); ++r)
    for (int c = 0; c < g.grid(); ++c)
      if (s.x0 < (c + 1) * P && s.x1 > c * P && s.y0 < (r + 1) * P && s.y1 > r * P) s.cells.push_back({r, c});
  return s;
}

std::vector<float> normalised_chw(const ShapeSample& s, const float mean[3], const float std[3]) {
  const int S = s.size;
  std::vector<float> out(std::size_t(3) * S * S);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < S * S; ++i)
      out[std::size_t(c) * S * S + i] = (s.rgb[std::size_t(i) * 3 + c] * (1.0f / 255.0f) - mean[c]) / std[c];
  return out;
}

nlohmann::json write_shapes_dataset(const std::string& directory, int count, std::uint64_t seed,
                                    const ShapesGeometry& g) {
  namespace fs = std::filesystem;
  using nlohmann::json;
  fs::create_directories(directory);
  std::mt19937_64 rng(seed);
  json images = json::array();
  for (int i = 0; i < count; ++i) {
    const ShapeSample s = generate_shape(rng, g);
    char name[32];
    std::snprintf(name, sizeof name, "shape_%03d.png", i);
    const std::string path = (fs::path(directory) / name).string();
    if (!stbi_write_png(path.c_str(), s.size, s.size, 3, s.rgb.data(), s.size * 3))
      fail(path, "could not write the PNG");
    json patches = json::array();
    for (int crop = 0; crop < 2; ++crop)
      for (const Cell& c : s.cells) patches.push_back({{"crop", crop}, {"row", c.row}, {"col", c.col}});
    images.push_back({{"file", name},
                      {"shape", shape_kinds()[s.kind]},
                      {"colour", colour_answer(s)},
                      {"box", {s.x0, s.y0, s.x1, s.y1}},
                      {"left", s.left},
                      {"object_patches", patches},
                      {"questions",
                       {{{"question", kColourQuestion}, {"answer", colour_answer(s)}},
                        {{"question", kLeftQuestion}, {"answer", left_answer(s)}}}}});
  }
  const json annotations = {
      {"generator", "tools/train_toys (train_toys shapes): shapes_dataset.cpp"},
      {"seed", seed},
      {"image_size", g.image_size},
      {"patch_size", g.patch_size},
      {"grid", g.grid()},
      {"box_convention", "[x0, y0, x1, y1] in pixels, x1 and y1 exclusive"},
      {"object_patches_rule",
       "grid cells (row, col) of patch_size squares overlapping the box (IoU > 0); crop 0 = the base image, "
       "crop 1 = the one high-resolution tile (the same grid: the image is exactly one crop)"},
      {"colours", shape_colours()},
      {"shapes", shape_kinds()},
      {"images", images},
  };
  tiny::write_text_file((fs::path(directory) / "annotations.json").string(), annotations.dump(1) + "\n");
  return annotations;
}

}  // namespace mechlens::toys
