#include "report/figure_folder.hpp"

#include <filesystem>
#include <fstream>

#include "mechlens/error.hpp"
#include "report/render.hpp"

namespace mechlens::report {

namespace {
// File names from figure names: keep them portable.
std::string file_safe(const std::string& name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return out;
}
}  // namespace

template <typename Figure>
void FigureFolder::write(const Figure& figure) {
  std::filesystem::create_directories(directory_);
  for (ImageFormat format : formats_) {
    const std::string bytes = render(figure, format);
    const std::string path =
        (std::filesystem::path(directory_) / (file_safe(figure.name) + "." + extension(format))).string();
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) fail(path, "cannot write the figure");
    written_.push_back(path);
  }
}

void FigureFolder::heatmap(const HeatmapFigure& figure) { write(figure); }
void FigureFolder::lines(const LineFigure& figure) { write(figure); }
void FigureFolder::image_overlay(const ImageOverlayFigure& figure) { write(figure); }
void FigureFolder::scatter(const ScatterFigure& figure) { write(figure); }
void FigureFolder::token_strip(const TokenStripFigure& figure) { write(figure); }

std::string figure_directory(const std::string& archive_path, const std::string& run, const std::string& analysis) {
  const std::filesystem::path archive(archive_path);
  return (archive.parent_path() / (archive.stem().string() + "_figures") / run / file_safe(analysis)).string();
}

}  // namespace mechlens::report
