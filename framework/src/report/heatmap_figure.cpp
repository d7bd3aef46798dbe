// Heat maps: seed 000's layers x heads matrix, and tables of tokens (layers x
// positions with the decoded token written in each cell).
#include <algorithm>
#include <cmath>

#include "mechlens/error.hpp"
#include "report/render.hpp"

namespace mechlens::report {

namespace {

constexpr double kTick = 11, kLabel = 14, kTitle = 16, kCellText = 10;

std::string tick(const std::vector<std::string>& names, int i) {
  return i < static_cast<int>(names.size()) ? names[i] : std::to_string(i);
}

double widest(const std::vector<std::string>& names, int n, double size) {
  double w = 0;
  for (int i = 0; i < n; ++i) w = std::max(w, text_width(tick(names, i), size));
  return w;
}

}  // namespace

HeatmapLayout heatmap_layout(const HeatmapFigure& f) {
  HeatmapLayout layout;
  layout.left = std::max(70.0, 30 + widest(f.row_names, f.rows, kTick));
  if (f.cell_text.empty()) {
    // Square cells, as large as fits 640 px, never below 6 or above 40.
    layout.cell_w = layout.cell_h = std::clamp(640 / std::max(f.rows, f.cols), 6, 40);
  } else {
    double text = 0;
    for (const auto& t : f.cell_text) text = std::max(text, text_width(t, kCellText));
    layout.cell_w = std::clamp(text + 8, 24.0, 90.0);
    layout.cell_h = 18;
  }
  return layout;
}

std::string render(const HeatmapFigure& f, ImageFormat format) {
  const std::string where = "figure '" + f.name + "'";
  if (f.rows <= 0 || f.cols <= 0 || f.values.size() != static_cast<std::size_t>(f.rows) * f.cols)
    fail(where, "heat map of " + std::to_string(f.rows) + "x" + std::to_string(f.cols) + " with " +
                    std::to_string(f.values.size()) + " values");
  if (!f.cell_text.empty() && f.cell_text.size() != f.values.size())
    fail(where, std::to_string(f.cell_text.size()) + " cell texts for " + std::to_string(f.values.size()) + " cells");
  const ColourScale scale = f.range ? ColourScale((*f.range)[0], (*f.range)[1]) : ColourScale::from(f.values);
  const HeatmapLayout L = heatmap_layout(f);
  const double grid_w = f.cols * L.cell_w, grid_h = f.rows * L.cell_h;
  // Column names longer than a cell are written upwards.
  const double col_text = widest(f.col_names, f.cols, kTick);
  const bool upright = col_text + 4 > L.cell_w;
  const double below = (upright ? col_text + 8 : 18) + 26;
  const double bar = 16, bar_x = L.left + grid_w + 30;
  const int width = static_cast<int>(std::ceil(std::max(bar_x + bar + 70, 20 + text_width(f.title, kTitle, true))));
  const int height = static_cast<int>(std::ceil(L.top + grid_h + below));
  Canvas canvas(width, height, format);
  canvas.text(10, 24, f.title, kTitle, Align::left, kBlack, true);

  for (int r = 0; r < f.rows; ++r)
    for (int c = 0; c < f.cols; ++c) {
      const double v = f.values[static_cast<std::size_t>(r) * f.cols + c];
      const Rgb colour = scale.at(v);
      const double x = L.left + c * L.cell_w, y = L.top + r * L.cell_h;
      canvas.fill_rect(x, y, L.cell_w, L.cell_h, colour);
      if (!f.cell_text.empty()) {
        const double luminance = 0.3 * colour.r + 0.59 * colour.g + 0.11 * colour.b;
        canvas.clip(x, y, L.cell_w, L.cell_h);
        canvas.text(x + L.cell_w / 2, y + L.cell_h - 5, f.cell_text[static_cast<std::size_t>(r) * f.cols + c],
                    kCellText, Align::centre, luminance < 0.5 ? kWhite : kBlack);
        canvas.reset_clip();
      }
    }

  // Tick labels, thinned so they never overlap.
  const int row_step = std::max(1, static_cast<int>(std::ceil(13 / L.cell_h)));
  const int col_step = upright ? std::max(1, static_cast<int>(std::ceil(13 / L.cell_w)))
                               : std::max(1, static_cast<int>(std::ceil((col_text + 6) / L.cell_w)));
  for (int r = 0; r < f.rows; r += row_step)
    canvas.text(L.left - 6, L.top + (r + 0.5) * L.cell_h + 4, tick(f.row_names, r), kTick, Align::right);
  for (int c = 0; c < f.cols; c += col_step) {
    const double x = L.left + (c + 0.5) * L.cell_w;
    if (upright) canvas.text(x + 4, L.top + grid_h + 6 + col_text, tick(f.col_names, c), kTick, Align::left, kBlack, false, 90);
    else canvas.text(x, L.top + grid_h + 14, tick(f.col_names, c), kTick, Align::centre);
  }
  canvas.text(L.left + grid_w / 2, height - 8, f.col_label, kLabel, Align::centre);
  canvas.text(16, L.top + grid_h / 2, f.row_label, kLabel, Align::centre, kBlack, false, 90);

  // Colour bar with its range.
  const int steps = std::max(1, static_cast<int>(grid_h));
  for (int y = 0; y < steps; ++y)
    canvas.fill_rect(bar_x, L.top + y, bar, 1.0,
                     scale.at(scale.hi() - (scale.hi() - scale.lo()) * y / std::max(1, steps - 1)));
  canvas.text(bar_x + bar + 4, L.top + 9, short_number(scale.hi()), kTick);
  canvas.text(bar_x + bar + 4, L.top + grid_h, short_number(scale.lo()), kTick);
  return canvas.finish();
}

}  // namespace mechlens::report
