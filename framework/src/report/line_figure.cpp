// Line plots: one or more series over a shared x axis (e.g. the rank of the
// target token per layer, accuracy over the number of ablated tokens).
#include <algorithm>
#include <cmath>

#include "mechlens/error.hpp"
#include "report/axes.hpp"
#include "report/render.hpp"

namespace mechlens::report {

std::string render(const LineFigure& f, ImageFormat format) {
  const std::string where = "figure '" + f.name + "'";
  if (f.x.empty()) fail(where, "line plot without x values");
  std::vector<double> all_y;
  for (const auto& s : f.series) {
    if (s.y.size() != f.x.size())
      fail(where, "series '" + s.label + "' has " + std::to_string(s.y.size()) + " values for " +
                      std::to_string(f.x.size()) + " x values");
    all_y.insert(all_y.end(), s.y.begin(), s.y.end());
  }
  double legend_w = 0;
  for (const auto& s : f.series) legend_w = std::max(legend_w, text_width(s.label, 11) + 30);
  const double left = 80, top = 40, plot_w = 520, plot_h = 300;
  const int width = static_cast<int>(std::ceil(std::max(left + plot_w + 20 + legend_w, 20 + text_width(f.title, 16, true))));
  const int height = static_cast<int>(top + plot_h + 50);
  Canvas canvas(width, height, format);
  canvas.text(10, 24, f.title, 16, Align::left, kBlack, true);

  const Frame frame(left, top, plot_w, plot_h, Range::of(f.x), Range::of(all_y, f.log_y), f.log_y);
  frame.draw(canvas, f.x_label, f.y_label, f.x_names.empty() ? std::vector<double>{} : f.x, f.x_names);
  canvas.clip(left, top, plot_w, plot_h);
  for (std::size_t s = 0; s < f.series.size(); ++s) {
    const Rgb colour = categorical(static_cast<int>(s));
    const auto& y = f.series[s].y;
    for (std::size_t i = 0; i < f.x.size(); ++i) {
      if (!frame.inside(f.x[i], y[i])) continue;
      canvas.dot(frame.px(f.x[i]), frame.py(y[i]), 2.5, colour);
      if (i + 1 < f.x.size() && frame.inside(f.x[i + 1], y[i + 1]))
        canvas.line(frame.px(f.x[i]), frame.py(y[i]), frame.px(f.x[i + 1]), frame.py(y[i + 1]), colour, 2.0);
    }
  }
  canvas.reset_clip();
  for (std::size_t s = 0; s < f.series.size(); ++s) {
    const double y = top + 10 + 18 * s;
    canvas.line(left + plot_w + 12, y, left + plot_w + 30, y, categorical(static_cast<int>(s)), 3.0);
    canvas.text(left + plot_w + 34, y + 4, f.series[s].label, 11);
  }
  return canvas.finish();
}

}  // namespace mechlens::report
