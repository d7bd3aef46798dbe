#pragma once
// The lens' pictures: the target's rank per layer, the top-1 token table, and
// the visual-token maps over the input image.
#include <cstdint>
#include <vector>

#include "logit_lens.hpp"
#include "mechlens/run_context.hpp"

namespace logit_lens {

// One crop's patch grid (from the adapter's token annotations): for each cell
// the index into the lens' positions (-1 where that token was not decoded).
struct CropGrid {
  int crop = 0;
  std::int64_t rows = 0, cols = 0;
  std::vector<std::int64_t> slot;       // rows * cols
  std::vector<std::int64_t> separator;  // 1 where the cell is a layout token (LLaVA's newline column)
};
std::vector<CropGrid> crop_grids(const mechlens::EncodedInput& input, const std::vector<std::int64_t>& positions);

void draw(mechlens::RunContext& ctx, const std::vector<InputLens>& lenses);

}  // namespace logit_lens
