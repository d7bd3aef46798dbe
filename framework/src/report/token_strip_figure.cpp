// Tokens in reading order on backgrounds coloured by a value (AtMan's text
// relevance), wrapped into lines.
#include <algorithm>
#include <cmath>

#include "mechlens/error.hpp"
#include "report/render.hpp"

namespace mechlens::report {

std::string render(const TokenStripFigure& f, ImageFormat format) {
  const std::string where = "figure '" + f.name + "'";
  if (f.tokens.size() != f.values.size())
    fail(where, std::to_string(f.tokens.size()) + " tokens but " + std::to_string(f.values.size()) + " values");
  const double size = 13, pad = 3, line_h = 24, max_w = 760, left = 10, top = 40;
  struct Placed {
    double x, y, w;
  };
  std::vector<Placed> placed;
  double x = left, y = top;
  for (const auto& t : f.tokens) {
    const double w = text_width(t.empty() ? " " : t, size) + 2 * pad;
    if (x + w > left + max_w && x > left) x = left, y += line_h;
    placed.push_back({x, y, w});
    x += w + 2;
  }
  const int width = static_cast<int>(std::ceil(std::max(left + max_w + 10, 20 + text_width(f.title, 16, true))));
  const int height = static_cast<int>(std::ceil(y + line_h + 30));
  Canvas canvas(width, height, format);
  canvas.text(10, 24, f.title, 16, Align::left, kBlack, true);
  const ColourScale colours = ColourScale::from(f.values);
  for (std::size_t i = 0; i < f.tokens.size(); ++i) {
    const Placed& p = placed[i];
    if (std::isfinite(f.values[i])) canvas.fill_rect(p.x, p.y, p.w, line_h - 4, colours.at(f.values[i]));
    canvas.text(p.x + pad, p.y + line_h - 10, f.tokens[i], size);
  }
  canvas.text(left, height - 8, "scale " + short_number(colours.lo()) + " .. " + short_number(colours.hi()), 11);
  return canvas.finish();
}

}  // namespace mechlens::report
