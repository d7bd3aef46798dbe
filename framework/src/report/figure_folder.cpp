#include "report/figure_folder.hpp"

#include <filesystem>

#include "report/heatmap.hpp"

namespace mechlens::report {

namespace {
// File names from figure names: keep them portable.
std::string file_safe(const std::string& name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return out;
}
}  // namespace

void FigureFolder::heatmap(const std::string& name, const std::string& title, int rows, int cols,
                           const std::vector<double>& values, const std::string& row_label,
                           const std::string& col_label) {
  std::filesystem::create_directories(directory_);
  Heatmap map;
  map.title = title;
  map.rows = rows;
  map.cols = cols;
  map.values = values;
  map.row_label = row_label;
  map.col_label = col_label;
  const std::string path = (std::filesystem::path(directory_) / (file_safe(name) + ".png")).string();
  write_heatmap_png(path, map);
  written_.push_back(path);
}

std::string figure_directory(const std::string& archive_path, const std::string& run, const std::string& analysis) {
  const std::filesystem::path archive(archive_path);
  return (archive.parent_path() / (archive.stem().string() + "_figures") / run / file_safe(analysis)).string();
}

}  // namespace mechlens::report
