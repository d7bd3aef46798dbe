// Scatter plots: points coloured by group, weighted edges drawn first as
// lines whose opacity is the weight (AttentionViz's query-key view).
#include <algorithm>
#include <cmath>

#include "mechlens/error.hpp"
#include "report/axes.hpp"
#include "report/render.hpp"

namespace mechlens::report {

std::string render(const ScatterFigure& f, ImageFormat format) {
  const std::string where = "figure '" + f.name + "'";
  const std::size_t n = f.x.size();
  if (f.y.size() != n) fail(where, std::to_string(n) + " x values but " + std::to_string(f.y.size()) + " y values");
  if (!f.group.empty() && f.group.size() != n) fail(where, "one group per point expected");
  if (!f.labels.empty() && f.labels.size() != n) fail(where, "one label per point expected");
  for (const auto& e : f.edges)
    if (e.from < 0 || e.to < 0 || static_cast<std::size_t>(e.from) >= n || static_cast<std::size_t>(e.to) >= n)
      fail(where, "edge " + std::to_string(e.from) + " -> " + std::to_string(e.to) + " outside the " +
                      std::to_string(n) + " points");
  double legend_w = 0;
  for (const auto& g : f.group_names) legend_w = std::max(legend_w, text_width(g, 11) + 26);
  const double left = 80, top = 40, plot_w = 520, plot_h = 480;
  const int width = static_cast<int>(std::ceil(std::max(left + plot_w + 20 + legend_w, 20 + text_width(f.title, 16, true))));
  const int height = static_cast<int>(top + plot_h + 50);
  Canvas canvas(width, height, format);
  canvas.text(10, 24, f.title, 16, Align::left, kBlack, true);
  const Frame frame(left, top, plot_w, plot_h, Range::of(f.x), Range::of(f.y));
  frame.draw(canvas, f.x_label, f.y_label);

  canvas.clip(left, top, plot_w, plot_h);
  for (const auto& e : f.edges) {
    if (!frame.inside(f.x[e.from], f.y[e.from]) || !frame.inside(f.x[e.to], f.y[e.to])) continue;
    canvas.line(frame.px(f.x[e.from]), frame.py(f.y[e.from]), frame.px(f.x[e.to]), frame.py(f.y[e.to]), kAxis, 1.0,
                std::clamp(e.weight, 0.0, 1.0));
  }
  const double radius = n > 2000 ? 1.5 : n > 300 ? 2.5 : 3.5;
  for (std::size_t i = 0; i < n; ++i)
    if (frame.inside(f.x[i], f.y[i]))
      canvas.dot(frame.px(f.x[i]), frame.py(f.y[i]), radius, categorical(f.group.empty() ? 0 : f.group[i]), 0.85);
  for (std::size_t i = 0; i < f.labels.size(); ++i)
    if (!f.labels[i].empty() && frame.inside(f.x[i], f.y[i]))
      canvas.text(frame.px(f.x[i]) + radius + 2, frame.py(f.y[i]) - radius, f.labels[i], 10);
  canvas.reset_clip();
  for (std::size_t g = 0; g < f.group_names.size(); ++g) {
    const double y = top + 10 + 18 * g;
    canvas.dot(left + plot_w + 18, y, 4, categorical(static_cast<int>(g)));
    canvas.text(left + plot_w + 28, y + 4, f.group_names[g], 11);
  }
  return canvas.finish();
}

}  // namespace mechlens::report
