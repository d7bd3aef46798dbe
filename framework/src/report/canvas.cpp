#include "report/canvas.hpp"

#include <cairo-svg.h>
#include <cairo.h>

#include <cmath>
#include <vector>

#include "mechlens/error.hpp"
#include "vision/image.hpp"

namespace mechlens::report {

namespace {

constexpr const char* kFont = "DejaVu Sans";

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

void set_font(cairo_t* cr, double size, bool bold) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

// cairo draws nothing (and stops drawing) on invalid UTF-8; token strings
// from a byte-level vocabulary can be partial characters.
std::string valid_utf8(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (int k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok && c >= 0x20) out.append(s, i, n);
    else out += ok ? " " : "\xEF\xBF\xBD";  // control characters as spaces, broken bytes as U+FFFD
    i += ok ? n : 1;
  }
  return out;
}

void set_colour(cairo_t* cr, Rgb c, double alpha) { cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha); }

}  // namespace

const char* extension(ImageFormat format) { return format == ImageFormat::png ? "png" : "svg"; }

Canvas::Canvas(int width, int height, ImageFormat format) : width_(width), height_(height), format_(format) {
  if (width <= 0 || height <= 0 || width > 32767 || height > 32767)
    fail("figure", "canvas of " + std::to_string(width) + "x" + std::to_string(height) + " pixels");
  surface_ = format == ImageFormat::png
                 ? cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height)
                 : cairo_svg_surface_create_for_stream(&append_bytes, &svg_, width, height);
  if (cairo_surface_status(surface_) != CAIRO_STATUS_SUCCESS)
    fail("figure", std::string("cannot create a cairo surface: ") + cairo_status_to_string(cairo_surface_status(surface_)));
  cr_ = cairo_create(surface_);
  set_colour(cr_, kWhite, 1.0);
  cairo_paint(cr_);
}

Canvas::~Canvas() {
  if (cr_) cairo_destroy(cr_);
  if (surface_) cairo_surface_destroy(surface_);
}

void Canvas::fill_rect(double x, double y, double w, double h, Rgb colour, double alpha) {
  set_colour(cr_, colour, alpha);
  cairo_rectangle(cr_, x, y, w, h);
  cairo_fill(cr_);
}

void Canvas::stroke_rect(double x, double y, double w, double h, Rgb colour, double line_width) {
  set_colour(cr_, colour, 1.0);
  cairo_set_line_width(cr_, line_width);
  cairo_rectangle(cr_, x, y, w, h);
  cairo_stroke(cr_);
}

void Canvas::line(double x0, double y0, double x1, double y1, Rgb colour, double line_width, double alpha) {
  set_colour(cr_, colour, alpha);
  cairo_set_line_width(cr_, line_width);
  cairo_move_to(cr_, x0, y0);
  cairo_line_to(cr_, x1, y1);
  cairo_stroke(cr_);
}

void Canvas::dot(double x, double y, double radius, Rgb colour, double alpha) {
  set_colour(cr_, colour, alpha);
  cairo_arc(cr_, x, y, radius, 0, 2 * M_PI);
  cairo_fill(cr_);
}

void Canvas::text(double x, double y, const std::string& s, double size, Align align, Rgb colour, bool bold,
                  double angle) {
  if (s.empty()) return;
  const std::string shown = valid_utf8(s);
  set_font(cr_, size, bold);
  cairo_text_extents_t extents;
  cairo_text_extents(cr_, shown.c_str(), &extents);
  const double shift = align == Align::left ? 0.0 : align == Align::centre ? extents.x_advance / 2 : extents.x_advance;
  cairo_save(cr_);
  cairo_translate(cr_, x, y);
  cairo_rotate(cr_, -angle * M_PI / 180.0);
  cairo_move_to(cr_, -shift, 0);
  set_colour(cr_, colour, 1.0);
  cairo_show_text(cr_, shown.c_str());
  cairo_restore(cr_);
}

void Canvas::image(const vision::RgbImage& picture, double x, double y, double w, double h) {
  if (picture.width <= 0 || picture.height <= 0) return;
  cairo_surface_t* source = cairo_image_surface_create(CAIRO_FORMAT_RGB24, picture.width, picture.height);
  const int stride = cairo_image_surface_get_stride(source);
  cairo_surface_flush(source);
  unsigned char* data = cairo_image_surface_get_data(source);
  for (int row = 0; row < picture.height; ++row) {
    auto* out = reinterpret_cast<std::uint32_t*>(data + static_cast<std::size_t>(row) * stride);
    const std::uint8_t* in = picture.row(row);
    for (int col = 0; col < picture.width; ++col, in += 3)
      out[col] = (0xffu << 24) | (std::uint32_t(in[0]) << 16) | (std::uint32_t(in[1]) << 8) | in[2];
  }
  cairo_surface_mark_dirty(source);
  cairo_save(cr_);
  cairo_translate(cr_, x, y);
  cairo_scale(cr_, w / picture.width, h / picture.height);
  cairo_set_source_surface(cr_, source, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr_), CAIRO_FILTER_BILINEAR);
  cairo_paint(cr_);
  cairo_restore(cr_);
  cairo_surface_destroy(source);
}

void Canvas::clip(double x, double y, double w, double h) {
  cairo_save(cr_);
  cairo_rectangle(cr_, x, y, w, h);
  cairo_clip(cr_);
}

void Canvas::reset_clip() { cairo_restore(cr_); }

std::string Canvas::finish() {
  std::string bytes;
  cairo_destroy(cr_);
  cr_ = nullptr;
  if (format_ == ImageFormat::png) {
    const cairo_status_t status = cairo_surface_write_to_png_stream(surface_, &append_bytes, &bytes);
    if (status != CAIRO_STATUS_SUCCESS) fail("figure", std::string("cannot encode PNG: ") + cairo_status_to_string(status));
  } else {
    cairo_surface_finish(surface_);
    bytes.swap(svg_);
  }
  cairo_surface_destroy(surface_);
  surface_ = nullptr;
  return bytes;
}

double text_width(const std::string& s, double size, bool bold) {
  // A scratch context: text metrics do not depend on the target surface.
  static cairo_surface_t* scratch = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
  thread_local cairo_t* cr = cairo_create(scratch);
  set_font(cr, size, bold);
  cairo_text_extents_t extents;
  cairo_text_extents(cr, valid_utf8(s).c_str(), &extents);
  return extents.x_advance;
}

}  // namespace mechlens::report
