#pragma once
// Heat maps as PNG files: the picture a person looks at first (seed 000's
// layers x heads sensitivity matrix). No plotting library: stb_image_write for
// the file, stb_easy_font for the labels.
#include <string>
#include <vector>

namespace mechlens::report {

struct Heatmap {
  std::string title;
  std::string row_label = "layer";
  std::string col_label = "head";
  int rows = 0;
  int cols = 0;
  std::vector<double> values;  // row-major, rows*cols; NaN = not computed (drawn grey)
};

// Diverging blue-white-red around 0 when values of both signs occur,
// sequential (white → dark red) otherwise. The colour bar shows the range.
void write_heatmap_png(const std::string& path, const Heatmap& map);

}  // namespace mechlens::report
