// A grid of values over the input image: visual-token logit lens maps,
// AtMan relevance of image patches. The image is drawn, then each cell is
// tinted by its value (translucent, so the picture stays readable).
#include <algorithm>
#include <cmath>

#include "mechlens/error.hpp"
#include "report/render.hpp"
#include "vision/image.hpp"

namespace mechlens::report {

std::string render(const ImageOverlayFigure& f, ImageFormat format) {
  const std::string where = "figure '" + f.name + "'";
  if (f.rows <= 0 || f.cols <= 0 || f.values.size() != static_cast<std::size_t>(f.rows) * f.cols)
    fail(where, "overlay grid of " + std::to_string(f.rows) + "x" + std::to_string(f.cols) + " with " +
                    std::to_string(f.values.size()) + " values");
  if (!f.cell_text.empty() && f.cell_text.size() != f.values.size())
    fail(where, std::to_string(f.cell_text.size()) + " cell texts for " + std::to_string(f.values.size()) + " cells");
  const auto [x0, y0, x1, y1] = f.region;
  if (!(x0 >= 0 && y0 >= 0 && x1 <= 1 && y1 <= 1 && x0 < x1 && y0 < y1))
    fail(where, "region must be fractions 0 <= x0 < x1 <= 1, 0 <= y0 < y1 <= 1");
  const vision::RgbImage picture = vision::decode_image(f.image_path);
  // The longer side drawn at 512 px (cells with text: at least 40 px each).
  const double min_cell = f.cell_text.empty() ? 0.0 : 40.0;
  const double scale = std::max(512.0 / std::max(picture.width, picture.height),
                                min_cell / std::min(picture.width * (x1 - x0) / f.cols, picture.height * (y1 - y0) / f.rows));
  const double w = picture.width * std::min(scale, 8192.0 / picture.width);
  const double h = picture.height * (w / picture.width);
  const double left = 10, top = 40, bar = 16;
  const int width = static_cast<int>(std::ceil(std::max(left + w + 30 + bar + 70, 20 + text_width(f.title, 16, true))));
  const int height = static_cast<int>(std::ceil(top + h + 10));
  Canvas canvas(width, height, format);
  canvas.text(10, 24, f.title, 16, Align::left, kBlack, true);
  canvas.image(picture, left, top, w, h);

  const ColourScale colours = f.range ? ColourScale((*f.range)[0], (*f.range)[1]) : ColourScale::from(f.values);
  const double gx = left + x0 * w, gy = top + y0 * h, cw = (x1 - x0) * w / f.cols, ch = (y1 - y0) * h / f.rows;
  for (int r = 0; r < f.rows; ++r)
    for (int c = 0; c < f.cols; ++c) {
      const double v = f.values[static_cast<std::size_t>(r) * f.cols + c];
      if (std::isfinite(v)) canvas.fill_rect(gx + c * cw, gy + r * ch, cw, ch, colours.at(v), 0.55);
      if (!f.cell_text.empty()) {
        canvas.clip(gx + c * cw, gy + r * ch, cw, ch);
        canvas.text(gx + (c + 0.5) * cw, gy + (r + 0.5) * ch + 4, f.cell_text[static_cast<std::size_t>(r) * f.cols + c],
                    9, Align::centre);
        canvas.reset_clip();
      }
    }
  const double bar_x = left + w + 30;
  const int steps = std::max(1, static_cast<int>(h));
  for (int y = 0; y < steps; ++y)
    canvas.fill_rect(bar_x, top + y, bar, 1.0,
                     colours.at(colours.hi() - (colours.hi() - colours.lo()) * y / std::max(1, steps - 1)));
  canvas.text(bar_x + bar + 4, top + 9, short_number(colours.hi()), 11);
  canvas.text(bar_x + bar + 4, top + h, short_number(colours.lo()), 11);
  return canvas.finish();
}

}  // namespace mechlens::report
