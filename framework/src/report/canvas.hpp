#pragma once
// A thin RAII wrapper over cairo for the figures: one surface (PNG image or
// SVG stream), anti-aliased text in DejaVu Sans, the few shapes figures need.
// Coordinates in pixels (SVG: points), origin top left.
#include <memory>
#include <string>

#include "report/colour.hpp"

typedef struct _cairo cairo_t;
typedef struct _cairo_surface cairo_surface_t;

namespace mechlens::vision {
struct RgbImage;
}

namespace mechlens::report {

enum class ImageFormat { png, svg };
const char* extension(ImageFormat format);  // "png" | "svg"

enum class Align { left, centre, right };

class Canvas {
 public:
  Canvas(int width, int height, ImageFormat format);
  ~Canvas();
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;

  int width() const { return width_; }
  int height() const { return height_; }

  void fill_rect(double x, double y, double w, double h, Rgb colour, double alpha = 1.0);
  void stroke_rect(double x, double y, double w, double h, Rgb colour, double line_width = 1.0);
  void line(double x0, double y0, double x1, double y1, Rgb colour, double line_width = 1.0, double alpha = 1.0);
  void dot(double x, double y, double radius, Rgb colour, double alpha = 1.0);
  // `y` is the text's baseline; `angle` in degrees, counter-clockwise.
  void text(double x, double y, const std::string& s, double size, Align align = Align::left,
            Rgb colour = kBlack, bool bold = false, double angle = 0.0);
  // An RGB image scaled into the rectangle (bilinear).
  void image(const vision::RgbImage& picture, double x, double y, double w, double h);
  // Keeps drawing inside the rectangle until reset_clip().
  void clip(double x, double y, double w, double h);
  void reset_clip();

  // The finished file's bytes (PNG or SVG text). Ends drawing.
  std::string finish();

 private:
  int width_, height_;
  ImageFormat format_;
  std::string svg_;  // the SVG stream's bytes
  cairo_surface_t* surface_ = nullptr;
  cairo_t* cr_ = nullptr;
};

// Width of `s` in pixels at `size`, as Canvas::text draws it.
double text_width(const std::string& s, double size, bool bold = false);

}  // namespace mechlens::report
