#pragma once
// The page a plugin's report section is written on (`mechlens report`,
// `mechlens run --report`). It is a Figures sink: the figure structs of
// figures.hpp are drawn by the same code that writes the run's PNG files, so
// a plugin can hand its drawing code either one, and the page and the files
// never disagree. On the page, heat maps show the value and the row and
// column labels under the pointer, scatter plots pan (drag) and zoom (wheel).
// Torch-free; the host writes one self-contained HTML file.
#include <string>
#include <vector>

#include "mechlens/figures.hpp"

namespace mechlens {

struct TableFigure {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

class ReportPage : public Figures {
 public:
  using Figures::heatmap;
  // The section's findings, shown first, before any figure.
  virtual void findings(const std::vector<std::string>& lines) = 0;
  virtual void heading(const std::string& text) = 0;
  virtual void paragraph(const std::string& text) = 0;
  // Something the reader must know (data missing, figure not drawn): a marked box.
  virtual void note(const std::string& text) = 0;
  virtual void table(const TableFigure& table) = 0;
};

}  // namespace mechlens
