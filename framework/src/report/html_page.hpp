#pragma once
// The HTML report: one section per part of a run, written as a ReportPage
// (mechlens/report_page.hpp), and the self-contained document around them
// (styles, scripts and pictures inline, nothing fetched). Figures are the
// PNG bytes render() makes for the run's files, embedded as data: URIs.
#include <string>
#include <vector>

#include "mechlens/report_page.hpp"

namespace mechlens::report {

class HtmlSection : public ReportPage {
 public:
  using ReportPage::heatmap;
  void heatmap(const HeatmapFigure& figure) override;
  void lines(const LineFigure& figure) override;
  void image_overlay(const ImageOverlayFigure& figure) override;
  void scatter(const ScatterFigure& figure) override;
  void token_strip(const TokenStripFigure& figure) override;
  void findings(const std::vector<std::string>& lines) override;
  void heading(const std::string& text) override;
  void paragraph(const std::string& text) override;
  void note(const std::string& text) override;
  void table(const TableFigure& table) override;
  // Raw HTML the host writes itself (provenance, token lists). Not for plugins.
  void raw(const std::string& html) { html_ += html; }

  const std::string& html() const { return html_; }
  int figure_count() const { return figures_; }
  int note_count() const { return notes_; }

 private:
  template <typename Figure>
  void picture(const Figure& figure, const char* kind, const std::string& data_json = "");
  std::string html_;
  int figures_ = 0;
  int notes_ = 0;
};

// Text as HTML (&, <, >, ", ' escaped).
std::string escape_html(const std::string& text);
std::string base64(const std::string& bytes);
// A JSON string literal (quotes included).
std::string json_string(const std::string& text);
// A number as the page shows it (6 significant digits; "NaN" for NaN).
std::string format_number(double value);

// The whole page: <title>, a table of contents from `toc` (anchor, label)
// pairs, then `body`; CSS and the hover / pan-zoom script inline.
std::string html_document(const std::string& title, const std::vector<std::pair<std::string, std::string>>& toc,
                          const std::string& body);

}  // namespace mechlens::report
