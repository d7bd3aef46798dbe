#pragma once
// The host's Figures: PNG files in one folder per analysis of a run
// (<archive stem>_figures/<run>/<analysis>/<name>.png).
#include <string>
#include <vector>

#include "mechlens/run_context.hpp"

namespace mechlens::report {

class FigureFolder : public Figures {
 public:
  explicit FigureFolder(std::string directory) : directory_(std::move(directory)) {}
  void heatmap(const std::string& name, const std::string& title, int rows, int cols,
               const std::vector<double>& values, const std::string& row_label,
               const std::string& col_label) override;
  const std::vector<std::string>& written() const { return written_; }
  const std::string& directory() const { return directory_; }

 private:
  std::string directory_;
  std::vector<std::string> written_;
};

// Where a run's figures go: "<dir>/<stem>_figures/<run>/<analysis>".
std::string figure_directory(const std::string& archive_path, const std::string& run, const std::string& analysis);

}  // namespace mechlens::report
