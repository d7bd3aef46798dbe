#pragma once
// Figure descriptions (mechlens/figures.hpp) → PNG or SVG bytes. The files a
// run writes and the pictures of the HTML report come from these functions,
// so the two never disagree. Errors name the figure.
#include <string>

#include "mechlens/figures.hpp"
#include "report/canvas.hpp"

namespace mechlens::report {

std::string render(const HeatmapFigure& figure, ImageFormat format);
std::string render(const LineFigure& figure, ImageFormat format);
std::string render(const ImageOverlayFigure& figure, ImageFormat format);
std::string render(const ScatterFigure& figure, ImageFormat format);
std::string render(const TokenStripFigure& figure, ImageFormat format);

// Heat-map geometry, shared with tests and the report's hover layer:
// cell (r, c) spans [left + c*cell_w, +cell_w) x [top + r*cell_h, +cell_h).
struct HeatmapLayout {
  double left = 70, top = 40, cell_w = 0, cell_h = 0;
};
HeatmapLayout heatmap_layout(const HeatmapFigure& figure);

}  // namespace mechlens::report
