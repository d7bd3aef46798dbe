#pragma once
// Generated images for the toy vision-language model: one coloured shape
// (square, circle, triangle) on a noisy, randomly tinted background at a
// random place. The background's tint and noise vary more than the shape's
// share of the image moves the image's mean colour, so the shape's colour is
// read from the shape's own patches, not from global statistics.
//
// Object tokens as seed 004 / Neo et al. (2024) define them: the patch cells
// of the tower's grid whose square overlaps the object's bounding box
// (IoU > 0). The image is exactly one crop (image side = the tower's
// image_size), so the base crop and the single high-resolution tile see the
// same grid: each object cell appears as (crop 0, row, col) and (crop 1, row, col).
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mechlens::toys {

struct ShapesGeometry {
  int image_size = 48;  // pixels per side (the tower's image_size)
  int patch_size = 8;   // pixels per patch side
  int grid() const { return image_size / patch_size; }
};

// The colour names, in label order, and their RGB.
const std::vector<std::string>& shape_colours();
const std::vector<std::string>& shape_kinds();

struct Cell {
  int row = 0, col = 0;
};

struct ShapeSample {
  int size = 0;                    // image side in pixels
  std::vector<std::uint8_t> rgb;   // size * size * 3, HWC
  int kind = 0;                    // index into shape_kinds()
  int colour = 0;                  // index into shape_colours()
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // bounding box, [x0, x1) x [y0, y1)
  bool left = false;               // box centre left of the image centre
  std::vector<Cell> cells;         // grid cells overlapping the box, row-major
};

// Questions and their answer words.
extern const char* const kColourQuestion;  // "What colour is the shape?"
// The tiny tokenizer has no one-token "yes"/"no" (its corpus has each once),
// so the side question names the side: " left" and " right" are single tokens.
extern const char* const kLeftQuestion;    // "Is the shape on the left or the right?"
std::string colour_answer(const ShapeSample& s);
std::string left_answer(const ShapeSample& s);  // "left" | "right"

// One sample from `rng` (deterministic for a seeded engine).
ShapeSample generate_shape(std::mt19937_64& rng, const ShapesGeometry& geometry);

// Pixels as the LLaVA-OneVision processor gives them for an image that is
// already one crop (no resize, rescale 1/255, normalise with mean/std): [3, S, S].
std::vector<float> normalised_chw(const ShapeSample& s, const float mean[3], const float std[3]);

// Writes `count` samples from seed `seed` into `directory` as shape_NNN.png
// plus annotations.json (file, shape, colour, box, object cells per crop,
// questions with answers). Returns the annotations.
nlohmann::json write_shapes_dataset(const std::string& directory, int count, std::uint64_t seed,
                                    const ShapesGeometry& geometry);

}  // namespace mechlens::toys
