#pragma once
// Object annotations of inputs (seed 004's object tokens): a box checked for
// shape, and the sidecar file an image folder may carry (one JSON object per
// image: file, box or mask, expected). Errors name the file, entry and key.
#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mechlens::recipe::detail {

// [x0, y0, x1, y1] with x0 < x1, y0 < y1; `where` names the key.
std::array<double, 4> object_box(const std::vector<double>& values, const std::string& where);

struct ImageAnnotation {
  std::optional<std::array<double, 4>> box;
  std::optional<std::string> mask;      // absolute path
  std::optional<std::string> expected;
};

// By image file name. The file is a JSON array of objects or JSON Lines
// (one object per line, blank lines skipped); a mask path is relative to the
// sidecar's folder. A file named twice is an error.
std::map<std::string, ImageAnnotation> read_annotation_sidecar(const std::string& path);

}  // namespace mechlens::recipe::detail
