#pragma once
// The host's Figures: one file per figure in one folder per analysis of a run
// (<archive stem>_figures/<run>/<analysis>/<name>.png, plus .svg when asked),
// drawn by render.hpp.
#include <string>
#include <vector>

#include "mechlens/figures.hpp"
#include "report/canvas.hpp"

namespace mechlens::report {

class FigureFolder : public Figures {
 public:
  explicit FigureFolder(std::string directory, std::vector<ImageFormat> formats = {ImageFormat::png})
      : directory_(std::move(directory)), formats_(std::move(formats)) {}
  using Figures::heatmap;
  void heatmap(const HeatmapFigure& figure) override;
  void lines(const LineFigure& figure) override;
  void image_overlay(const ImageOverlayFigure& figure) override;
  void scatter(const ScatterFigure& figure) override;
  void token_strip(const TokenStripFigure& figure) override;
  const std::vector<std::string>& written() const { return written_; }
  const std::string& directory() const { return directory_; }

 private:
  template <typename Figure>
  void write(const Figure& figure);

  std::string directory_;
  std::vector<ImageFormat> formats_;
  std::vector<std::string> written_;
};

// Where a run's figures go: "<dir>/<stem>_figures/<run>/<analysis>".
std::string figure_directory(const std::string& archive_path, const std::string& run, const std::string& analysis);

}  // namespace mechlens::report
