// HtmlSection: the ReportPage behind `mechlens report`. Each figure is drawn
// by render() (the code that writes the run's PNG files) and embedded as a
// data: URI; heat maps carry their values and cell geometry for the hover
// read-out, scatter plots a pan/zoom frame (scripts in page_assets.cpp).
#include "report/html_page.hpp"

#include <cmath>
#include <cstdio>

#include "report/render.hpp"

namespace mechlens::report {

std::string escape_html(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64(const std::string& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += table[(n >> 18) & 63], out += table[(n >> 12) & 63], out += table[(n >> 6) & 63], out += table[n & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    out += table[(n >> 18) & 63], out += table[(n >> 12) & 63], out += "==";
  } else if (i + 2 == bytes.size()) {
    const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += table[(n >> 18) & 63], out += table[(n >> 12) & 63], out += table[(n >> 6) & 63], out += '=';
  }
  return out;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
    else if (c == '\n') out += "\\n";
    else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else out += static_cast<char>(c);
  }
  return out + "\"";
}

std::string format_number(double value) {
  if (std::isnan(value)) return "NaN";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", value);
  return buf;
}

namespace {

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string json_strings(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + json_string(items[i]);
  return out + "]";
}

// What the hover script needs: geometry in image pixels, values, labels.
std::string heatmap_json(const HeatmapFigure& f) {
  const HeatmapLayout L = heatmap_layout(f);
  std::string out = "{\"rows\":" + std::to_string(f.rows) + ",\"cols\":" + std::to_string(f.cols) +
                    ",\"left\":" + json_number(L.left) + ",\"top\":" + json_number(L.top) +
                    ",\"cell_w\":" + json_number(L.cell_w) + ",\"cell_h\":" + json_number(L.cell_h) +
                    ",\"row_label\":" + json_string(f.row_label) + ",\"col_label\":" + json_string(f.col_label) +
                    ",\"row_names\":" + json_strings(f.row_names) + ",\"col_names\":" + json_strings(f.col_names) +
                    ",\"cell_text\":" + json_strings(f.cell_text) + ",\"values\":[";
  for (std::size_t i = 0; i < f.values.size(); ++i) out += (i ? "," : "") + json_number(f.values[i]);
  return out + "]}";
}

}  // namespace

template <typename Figure>
void HtmlSection::picture(const Figure& figure, const char* kind, const std::string& data_json) {
  std::string png;
  try {
    png = render(figure, ImageFormat::png);
  } catch (const std::exception& e) {
    note(std::string("figure '") + figure.name + "' not drawn: " + e.what());
    return;
  }
  ++figures_;
  html_ += std::string("<figure class=\"ml-figure ml-") + kind + "\" data-kind=\"" + kind + "\" data-name=\"" +
           escape_html(figure.name) + "\"";
  if (!data_json.empty()) html_ += " data-heatmap=\"" + escape_html(data_json) + "\"";
  html_ += ">";
  const bool pan = std::string(kind) == "scatter";
  if (pan) html_ += "<div class=\"ml-pan\" title=\"drag to pan, wheel to zoom, double-click to reset\">";
  html_ += "<img alt=\"" + escape_html(figure.title) + "\" src=\"data:image/png;base64," + base64(png) + "\">";
  if (pan) html_ += "</div>";
  html_ += "</figure>\n";  // the title is drawn in the picture
}

void HtmlSection::heatmap(const HeatmapFigure& f) {
  std::string data;
  if (f.rows > 0 && f.cols > 0 && f.values.size() == static_cast<std::size_t>(f.rows) * f.cols) data = heatmap_json(f);
  picture(f, "heatmap", data);
}
void HtmlSection::lines(const LineFigure& f) { picture(f, "lines"); }
void HtmlSection::image_overlay(const ImageOverlayFigure& f) { picture(f, "overlay"); }
void HtmlSection::scatter(const ScatterFigure& f) { picture(f, "scatter"); }
void HtmlSection::token_strip(const TokenStripFigure& f) { picture(f, "tokens"); }

void HtmlSection::findings(const std::vector<std::string>& lines) {
  if (lines.empty()) return;
  html_ += "<ul class=\"ml-findings\">";
  for (const auto& line : lines) html_ += "<li>" + escape_html(line) + "</li>";
  html_ += "</ul>\n";
}
void HtmlSection::heading(const std::string& text) { html_ += "<h4>" + escape_html(text) + "</h4>\n"; }
void HtmlSection::paragraph(const std::string& text) { html_ += "<p>" + escape_html(text) + "</p>\n"; }
void HtmlSection::note(const std::string& text) {
  ++notes_;
  html_ += "<div class=\"ml-note\">" + escape_html(text) + "</div>\n";
}

void HtmlSection::table(const TableFigure& t) {
  constexpr std::size_t kMaxRows = 500;  // a page, not a data dump: the archive has the rest
  html_ += "<div class=\"ml-table\"><table>";
  if (!t.title.empty()) html_ += "<caption>" + escape_html(t.title) + "</caption>";
  if (!t.header.empty()) {
    html_ += "<tr>";
    for (const auto& h : t.header) html_ += "<th>" + escape_html(h) + "</th>";
    html_ += "</tr>";
  }
  for (std::size_t r = 0; r < t.rows.size() && r < kMaxRows; ++r) {
    html_ += "<tr>";
    for (const auto& cell : t.rows[r]) html_ += "<td>" + escape_html(cell) + "</td>";
    html_ += "</tr>";
  }
  html_ += "</table></div>\n";
  if (t.rows.size() > kMaxRows)
    note("table '" + t.title + "': first " + std::to_string(kMaxRows) + " of " + std::to_string(t.rows.size()) +
         " rows shown; the archive holds all of them");
}

}  // namespace mechlens::report
