// The report page's building blocks: figures embedded as the PNG bytes the
// run writes, heat maps carrying the geometry the hover script reads, text
// escaped, a figure that cannot be drawn turned into a note, nothing fetched.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "report/html_page.hpp"
#include "report/render.hpp"

namespace mechlens::report {
namespace {

HeatmapFigure small_heatmap() {
  HeatmapFigure f;
  f.name = "kl_<x>";
  f.title = "KL & friends";
  f.rows = 2, f.cols = 3;
  f.values = {0.5, -1.25, 3, NAN, 0, 1e-7};
  f.row_names = {"L0", "L1"};
  return f;
}

TEST(HtmlPage, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\x00\x80", 3)), "/wCA");
}

TEST(HtmlPage, EscapesTextAndJson) {
  EXPECT_EQ(escape_html("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(json_string("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
  EXPECT_EQ(format_number(0.000123456789), "0.000123457");
  EXPECT_EQ(format_number(NAN), "NaN");
}

TEST(HtmlPage, HeatmapEmbedsTheRunsPngAndItsHoverGeometry) {
  const HeatmapFigure f = small_heatmap();
  HtmlSection page;
  page.heatmap(f);
  EXPECT_EQ(page.figure_count(), 1);
  const std::string& html = page.html();
  // The very bytes FigureFolder writes as <name>.png.
  EXPECT_NE(html.find("data:image/png;base64," + base64(render(f, ImageFormat::png))), std::string::npos);
  const HeatmapLayout L = heatmap_layout(f);
  const std::string geometry = "&quot;left&quot;:" + format_number(L.left) + ",&quot;top&quot;:" + format_number(L.top) +
                               ",&quot;cell_w&quot;:" + format_number(L.cell_w);
  EXPECT_NE(html.find(geometry), std::string::npos) << html.substr(0, 600);
  // NaN is JSON null (the tooltip says "not computed"); names are escaped.
  EXPECT_NE(html.find("&quot;values&quot;:[0.5,-1.25,3,null,0,1e-07]"), std::string::npos);
  EXPECT_NE(html.find("data-name=\"kl_&lt;x&gt;\""), std::string::npos);
  EXPECT_EQ(html.find("<x>"), std::string::npos);
}

TEST(HtmlPage, AFigureThatCannotBeDrawnBecomesANote) {
  HeatmapFigure f = small_heatmap();
  f.values.pop_back();
  HtmlSection page;
  page.heatmap(f);
  EXPECT_EQ(page.figure_count(), 0);
  EXPECT_EQ(page.note_count(), 1);
  EXPECT_NE(page.html().find("figure &#39;kl_&lt;x&gt;&#39; not drawn"), std::string::npos) << page.html();
}

TEST(HtmlPage, ScatterPansAndTablesAreCapped) {
  HtmlSection page;
  ScatterFigure s;
  s.name = "points";
  s.x = {0, 1, 2};
  s.y = {1, 0, 2};
  s.edges = {{0, 1, 0.5}};
  page.scatter(s);
  EXPECT_NE(page.html().find("class=\"ml-pan\""), std::string::npos);
  TableFigure t;
  t.header = {"i"};
  for (int i = 0; i < 600; ++i) t.rows.push_back({std::to_string(i)});
  page.table(t);
  EXPECT_NE(page.html().find("<td>499</td>"), std::string::npos);
  EXPECT_EQ(page.html().find("<td>500</td>"), std::string::npos);
  EXPECT_EQ(page.note_count(), 1);
}

TEST(HtmlPage, DocumentIsSelfContained) {
  HtmlSection page;
  page.findings({"head 1.3 matters"});
  page.heatmap(small_heatmap());
  const std::string doc = html_document("t", {{"run_0001", "run_0001"}}, page.html());
  EXPECT_NE(doc.find("Content-Security-Policy"), std::string::npos);
  // No reference to anything outside the file: no src/href to http(s), file or another path.
  EXPECT_FALSE(std::regex_search(doc, std::regex(R"((src|href)=\"(?!data:|#))")));
  EXPECT_EQ(doc.find("http://"), std::string::npos);
  EXPECT_EQ(doc.find("https://"), std::string::npos);
}

}  // namespace
}  // namespace mechlens::report
