#pragma once
// Pictures a person looks at. A plugin describes a figure as data (one of the
// structs below) and hands it to the run's Figures sink; the host draws it
// with cairo (PNG, and SVG when asked) beside the archive, in
// <archive stem>_figures/<run>/<analysis>/<name>.png. Plugins never open
// files or draw pixels themselves. Torch-free.
#include <array>
#include <optional>
#include <string>
#include <vector>

namespace mechlens {

// rows x cols cells, row-major. NaN = not computed (drawn grey).
// Diverging blue-white-red around 0 when values of both signs occur,
// sequential otherwise; the colour bar shows the range.
struct HeatmapFigure {
  std::string name;  // file name without extension
  std::string title;
  int rows = 0;
  int cols = 0;
  std::vector<double> values;
  std::string row_label = "layer";
  std::string col_label = "head";
  std::vector<std::string> row_names;  // tick labels (empty = 0..rows-1)
  std::vector<std::string> col_names;  // tick labels (empty = 0..cols-1)
  std::vector<std::string> cell_text;  // text written in each cell (empty = none)
  std::optional<std::array<double, 2>> range;  // colour scale [lo, hi] (default: from the values)
};

// One or more series over a shared x axis. NaN breaks a line.
struct LineFigure {
  struct Series {
    std::string label;
    std::vector<double> y;
  };
  std::string name;
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<double> x;
  std::vector<Series> series;
  bool log_y = false;
  std::vector<std::string> x_names;  // tick labels at x (empty = numbers)
};

// A grid over an input image (e.g. one value per visual token): the image is
// drawn, then each cell coloured by its value over the part of the image the
// grid covers. NaN cells stay clear.
struct ImageOverlayFigure {
  std::string name;
  std::string title;
  std::string image_path;  // the input's image (InputSpec::image)
  int rows = 0;
  int cols = 0;
  std::vector<double> values;          // rows * cols, row-major
  std::vector<std::string> cell_text;  // optional text per cell (e.g. the decoded token)
  // The part of the original image the grid covers, as fractions
  // [x0, y0, x1, y1] of its width and height (default: all of it).
  std::array<double, 4> region{0.0, 0.0, 1.0, 1.0};
  std::optional<std::array<double, 2>> range;  // colour scale (default: from the values)
};

// Points in 2-D, coloured by group, optional labels and weighted edges
// (drawn as lines with opacity = weight).
struct ScatterFigure {
  struct Edge {
    int from = 0;
    int to = 0;
    double weight = 1.0;
  };
  std::string name;
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<double> x;
  std::vector<double> y;
  std::vector<int> group;                // per point (empty = all group 0)
  std::vector<std::string> group_names;  // legend
  std::vector<std::string> labels;       // per point, empty string = unlabelled
  std::vector<Edge> edges;
};

// Tokens in reading order, each on a background coloured by its value
// (e.g. AtMan relevance). NaN = no colour.
struct TokenStripFigure {
  std::string name;
  std::string title;
  std::vector<std::string> tokens;
  std::vector<double> values;
};

class Figures {
 public:
  virtual ~Figures() = default;
  virtual void heatmap(const HeatmapFigure& figure) = 0;
  virtual void lines(const LineFigure& figure) = 0;
  virtual void image_overlay(const ImageOverlayFigure& figure) = 0;
  virtual void scatter(const ScatterFigure& figure) = 0;
  virtual void token_strip(const TokenStripFigure& figure) = 0;

  // Shorthand kept from the first API: a layers x heads heat map.
  void heatmap(const std::string& name, const std::string& title, int rows, int cols,
               const std::vector<double>& values, const std::string& row_label = "layer",
               const std::string& col_label = "head") {
    HeatmapFigure f;
    f.name = name, f.title = title, f.rows = rows, f.cols = cols, f.values = values;
    f.row_label = row_label, f.col_label = col_label;
    heatmap(f);
  }
};

}  // namespace mechlens
