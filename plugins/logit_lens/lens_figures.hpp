#pragma once
// The lens' pictures: the target's rank per layer, the top-1 token table, and
// the visual-token maps over the input image.
#include <cstdint>
#include <vector>

#include "logit_lens.hpp"
#include "mechlens/archive_view.hpp"
#include "mechlens/report_page.hpp"
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

// The figures themselves, from plain values: the run (from its tensors) and
// the report section (from the archive) both build them here, so the PNG
// files and the page show the same thing.
// ranks[i][e]: input i's target rank at its answer (or last) position.
mechlens::LineFigure rank_figure(bool final_norm, std::int64_t entries, const std::vector<std::string>& ids,
                                 const std::vector<std::vector<double>>& ranks);
// probs / top1 [entries x tokens.size()], row-major.
mechlens::HeatmapFigure top1_table(const std::string& id, std::int64_t entries, const std::vector<std::string>& tokens,
                                   std::vector<double> probs, std::vector<std::string> top1);
// One crop's visual tokens after the last layer, over the image (values NaN where not decoded).
mechlens::ImageOverlayFigure top1_map(const std::string& id, int crop, const std::string& image, int rows, int cols,
                                      std::vector<double> probs, std::vector<std::string> top1);

// The report section (plugin.hpp), from the archive alone (lens_report.cpp).
void report_section(const mechlens::GroupView& group, mechlens::ReportPage& page);

}  // namespace logit_lens
