// attentionviz's report section, from the archive alone: the per-head checks
// as a table, then each drawn head's joint query/key scatter (2-D PCA after
// and before the normalisation, top attention edges) built by joint_scatter,
// the function that draws the run's PNG files. The page lets you pan (drag)
// and zoom (wheel) them.
#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "drawing.hpp"

namespace attentionviz {

using namespace mechlens;

namespace {

std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

void report_section(const GroupView& group, ReportPage& page) {
  const std::vector<double> layers = group.f64("layer").values, heads = group.f64("head").values;
  const std::vector<std::string> text = group.strings("token_text");
  const auto n = static_cast<std::int64_t>(text.size());
  const std::size_t L = layers.size(), H = heads.size();

  TableFigure checks;
  checks.title = "per head: scale c and the checks of the transform";
  checks.header = {"layer", "head"};
  const std::vector<std::string> columns = {"scale", "max_pattern_change", "pattern_reproduction_error",
                                            "mean_query_norm", "mean_key_norm"};
  std::vector<std::vector<double>> values;
  for (const auto& c : columns) {
    if (!group.has_dataset(c)) continue;
    checks.header.push_back(c);
    values.push_back(group.f64(c).values);
  }
  for (std::size_t li = 0; li < L; ++li)
    for (std::size_t hi = 0; hi < H; ++hi) {
      std::vector<std::string> row = {number(layers[li]), number(heads[hi])};
      for (const auto& v : values) row.push_back(number(v.at(li * H + hi)));
      checks.rows.push_back(row);
    }
  page.table(checks);

  // The labels the run used: tokens named in label_tokens, else all when there are at most 40.
  const std::vector<std::string> chosen = group.texts_attr("param.label_tokens");
  std::vector<std::string> labels(2 * n);
  for (std::int64_t i = 0; i < n; ++i) {
    const bool wanted = chosen.empty() ? n <= 40 : std::find(chosen.begin(), chosen.end(), text[i]) != chosen.end();
    if (wanted) labels[i] = labels[n + i] = text[i];
  }
  std::vector<double> edge_layer, edge_head, edge_query, edge_key, edge_weight;
  if (group.has_dataset("edge_weight")) {
    edge_layer = group.f64("edge_layer").values, edge_head = group.f64("edge_head").values;
    edge_query = group.f64("edge_query_point").values, edge_key = group.f64("edge_key_point").values;
    edge_weight = group.f64("edge_weight").values;
  } else {
    page.note("the top attention edges (edge_*) are not in the archive: scatters drawn without them");
  }
  const auto limit = static_cast<std::size_t>(group.number_attr("param.figure_heads").value_or(12));
  std::size_t drawn = 0;
  for (std::size_t li = 0; li < L; ++li)
    for (std::size_t hi = 0; hi < H && drawn < limit; ++hi, ++drawn) {
      std::vector<Edge> edges;
      for (std::size_t e = 0; e < edge_weight.size(); ++e)
        if (edge_layer[e] == layers[li] && edge_head[e] == heads[hi])
          edges.push_back({static_cast<std::int64_t>(edge_query[e]), static_cast<std::int64_t>(edge_key[e]) - n,
                           edge_weight[e]});
      const std::string tag = "L" + number(layers[li]) + "_H" + number(heads[hi]);
      const std::string who = "layer " + number(layers[li]) + " head " + number(heads[hi]);
      for (const auto& [name, title] : {std::pair<std::string, std::string>{"pca2_after", "2-D PCA after normalisation"},
                                        {"pca2_before", "2-D PCA before normalisation"}}) {
        if (!group.has_dataset(name)) {
          page.note(name + " is not in the archive");
          continue;
        }
        const ArrayView coords = group.f64(name);  // [layer, head, point, 2]
        const std::int64_t points = coords.size(2);
        const double* at = coords.values.data() + (li * H + hi) * points * 2;
        if (std::isnan(at[0])) continue;
        page.scatter(joint_scatter(name + "_" + tag, title + ", " + who, at, points, edges, labels));
      }
    }
}

}  // namespace attentionviz
