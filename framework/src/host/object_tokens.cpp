#include "host/object_tokens.hpp"

#include <algorithm>
#include <cmath>

#include "mechlens/error.hpp"
#include "vision/image.hpp"

namespace mechlens::host {

namespace {

bool has_extent(const TokenAnnotation& a) { return a.x1 > a.x0 && a.y1 > a.y0; }

bool overlaps_box(const TokenAnnotation& a, const std::array<double, 4>& b) {
  return has_extent(a) && a.x0 < b[2] && a.x1 > b[0] && a.y0 < b[3] && a.y1 > b[1];
}

// Summed-area table of the mask's non-zero pixels: any pixel inside a
// rectangle in O(1).
class MaskCounts {
 public:
  explicit MaskCounts(const vision::RgbImage& mask) : h_(mask.height), w_(mask.width), sum_((h_ + 1) * std::size_t(w_ + 1)) {
    for (int y = 0; y < h_; ++y)
      for (int x = 0; x < w_; ++x) {
        const bool on = mask.at(y, x, 0) || mask.at(y, x, 1) || mask.at(y, x, 2);
        at(y + 1, x + 1) = at(y, x + 1) + at(y + 1, x) - at(y, x) + (on ? 1 : 0);
      }
  }
  std::int64_t total() const { return sum_.back(); }
  // Non-zero pixels whose square overlaps [x0, x1) x [y0, y1) by a positive area.
  bool any(double x0, double y0, double x1, double y1) const {
    const int a = std::clamp(int(std::floor(x0)), 0, w_), b = std::clamp(int(std::ceil(x1)), 0, w_);
    const int c = std::clamp(int(std::floor(y0)), 0, h_), d = std::clamp(int(std::ceil(y1)), 0, h_);
    if (a >= b || c >= d) return false;
    return at(d, b) - at(c, b) - at(d, a) + at(c, a) > 0;
  }

 private:
  std::int64_t& at(int y, int x) { return sum_[std::size_t(y) * (w_ + 1) + x]; }
  std::int64_t at(int y, int x) const { return sum_[std::size_t(y) * (w_ + 1) + x]; }
  int h_, w_;
  std::vector<std::int64_t> sum_;
};

}  // namespace

void mark_object_tokens(EncodedInput& input) {
  const InputSpec& spec = input.spec;
  if (!spec.object_box && !spec.object_mask) return;
  const std::string where = "input '" + spec.id + "'";
  bool any_extent = false;
  for (const TokenAnnotation& a : input.annotations) any_extent |= a.modality == Modality::image && has_extent(a);
  if (!any_extent)
    fail(where, "has an object annotation, but no image token says which pixels it sees (no image, or an adapter "
                "that does not map patches to pixels)");
  std::size_t marked = 0;
  if (spec.object_box) {
    for (TokenAnnotation& a : input.annotations) marked += a.object = a.modality == Modality::image && overlaps_box(a, *spec.object_box);
  } else {
    const vision::RgbImage mask = vision::decode_image(*spec.object_mask);
    const vision::RgbImage image = vision::decode_image(*spec.image);
    if (mask.height != image.height || mask.width != image.width)
      fail(where, "object_mask " + *spec.object_mask + " is " + std::to_string(mask.width) + "x" +
                      std::to_string(mask.height) + ", the image " + std::to_string(image.width) + "x" +
                      std::to_string(image.height) + ": a mask has the image's size");
    const MaskCounts counts(mask);
    if (counts.total() == 0) fail(where, "object_mask " + *spec.object_mask + " has no non-zero pixel");
    for (TokenAnnotation& a : input.annotations)
      marked += a.object = a.modality == Modality::image && has_extent(a) && counts.any(a.x0, a.y0, a.x1, a.y1);
  }
  if (marked == 0) fail(where, "the object annotation overlaps no image patch (is the box inside the image?)");
}

}  // namespace mechlens::host
