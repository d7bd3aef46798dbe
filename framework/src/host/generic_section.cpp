// The generic report section: what any analysis group holds, readable without
// its plugin. Heat maps for small 2-D numeric datasets, a table of the rest.
#include <cmath>

#include "host/archive_report.hpp"
#include "report/html_page.hpp"

namespace mechlens::host {

namespace {

constexpr int kMaxHeatmaps = 8;
constexpr std::int64_t kMaxSide = 256;  // larger matrices stay in the archive (a heat map would be noise)

std::string shape_text(const DatasetShape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.shape.size(); ++i) {
    if (i) out += ", ";
    if (i < s.dims.size() && !s.dims[i].empty()) out += s.dims[i] + "=";
    out += std::to_string(s.shape[i]);
  }
  return out + "]";
}

// Tick labels from the group's coordinate `dim`, when it has one of that length.
std::vector<std::string> coordinate_names(const GroupView& group, const std::string& dim, std::int64_t length) {
  std::vector<std::string> names;
  if (dim.empty() || !group.has_dataset(dim)) return names;
  const DatasetShape cs = group.shape(dim);
  if (cs.shape.size() != 1 || cs.shape[0] != length) return names;
  if (cs.dtype == "string") return group.strings(dim);
  for (double v : group.f64(dim).values) names.push_back(report::format_number(v));
  return names;
}

// The last two axes of a numeric dataset as a heat map (the first element of
// every leading axis: [0, 0, :, :]), when small enough to read.
bool draw_matrix(const GroupView& group, const std::string& prefix, const std::string& name, const DatasetShape& s,
                 ReportPage& page) {
  const std::size_t rank = s.shape.size();
  if (s.dtype == "string" || rank < 2 || s.is_coordinate) return false;
  const std::int64_t rows = s.shape[rank - 2], cols = s.shape[rank - 1];
  if (rows < 1 || cols < 1 || rows > kMaxSide || cols > kMaxSide) return false;
  const ArrayView a = group.f64(name);
  HeatmapFigure f;
  f.name = prefix + name;
  f.title = prefix + name;
  if (rank > 2) {
    f.title += " [";
    for (std::size_t i = 0; i + 2 < rank; ++i) f.title += (a.dims[i].empty() ? "" : a.dims[i] + "=") + "0, ";
    f.title += ":, :]";
  }
  f.rows = static_cast<int>(rows);
  f.cols = static_cast<int>(cols);
  f.values.assign(a.values.begin(), a.values.begin() + rows * cols);
  const std::string& row_dim = a.dims[rank - 2];
  const std::string& col_dim = a.dims[rank - 1];
  f.row_label = row_dim.empty() ? "row" : row_dim;
  f.col_label = col_dim.empty() ? "column" : col_dim;
  f.row_names = coordinate_names(group, row_dim, rows);
  f.col_names = coordinate_names(group, col_dim, cols);
  page.heatmap(f);
  return true;
}

void list_and_draw(const GroupView& group, const std::string& prefix, ReportPage& page, TableFigure& listing,
                   int& drawn, std::vector<std::pair<std::string, ArrayView>>& series) {
  for (const auto& name : group.datasets()) {
    const DatasetShape s = group.shape(name);
    listing.rows.push_back({prefix + name, shape_text(s), s.dtype + (s.is_coordinate ? " (coordinate)" : "")});
    if (drawn < kMaxHeatmaps && draw_matrix(group, prefix, name, s, page)) ++drawn;
    else if (s.dtype != "string" && s.shape.size() == 1 && !s.is_coordinate && s.shape[0] > 1 && series.size() < 4)
      series.emplace_back(prefix + name, group.f64(name));
  }
}

}  // namespace

void generic_section(const GroupView& group, ReportPage& page) {
  TableFigure listing;
  listing.title = "datasets";
  listing.header = {"name", "shape", "type"};
  int drawn = 0;
  std::vector<std::pair<std::string, ArrayView>> series;  // 1-D numeric datasets, drawn when no matrix is
  list_and_draw(group, "", page, listing, drawn, series);
  for (const auto& sub : group.groups()) list_and_draw(*group.group(sub), sub + "/", page, listing, drawn, series);
  if (drawn == 0)
    for (const auto& [name, a] : series) {
      LineFigure f;
      f.name = name;
      f.title = name;
      f.x_label = a.dims[0].empty() ? "index" : a.dims[0];
      f.y_label = name;
      for (std::size_t i = 0; i < a.values.size(); ++i) f.x.push_back(static_cast<double>(i));
      f.series.push_back({name, a.values});
      page.lines(f);
      ++drawn;
    }
  page.table(listing);
  if (drawn == 0) page.paragraph("Nothing numeric small enough to draw (matrices up to 256 x 256).");
}

}  // namespace mechlens::host
