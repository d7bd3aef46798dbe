#include "drawing.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "pairs.hpp"

namespace attentionviz {

std::vector<std::string> point_labels(const Tokens& tokens, const std::vector<std::string>& chosen) {
  const std::int64_t n = tokens.size();
  std::vector<std::string> labels(2 * n);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::string& text = tokens.text[i];
    const bool wanted = chosen.empty() ? n <= 40 : std::find(chosen.begin(), chosen.end(), text) != chosen.end();
    if (wanted) labels[i] = labels[n + i] = text;
  }
  return labels;
}

mechlens::ScatterFigure joint_scatter(const std::string& name, const std::string& title, const double* coords,
                                      std::int64_t points, const std::vector<Edge>& edges,
                                      const std::vector<std::string>& labels) {
  mechlens::ScatterFigure f;
  f.name = name;
  f.title = title;
  f.x_label = "axis 1";
  f.y_label = "axis 2";
  const std::int64_t n = points / 2;
  for (std::int64_t p = 0; p < points; ++p) {
    f.x.push_back(coords[2 * p]);
    f.y.push_back(coords[2 * p + 1]);
    f.group.push_back(p < n ? 0 : 1);
  }
  f.group_names = {"queries", "keys"};
  f.labels = labels;
  for (const Edge& e : edges) f.edges.push_back({static_cast<int>(e.query), static_cast<int>(n + e.key), e.weight});
  return f;
}

mechlens::ScatterFigure dot_vs_distance(const std::string& name, const std::string& who, const Tokens& tokens,
                                        const HeadVectors& head, const Transform& transform) {
  const at::Tensor dots = pair_dots(tokens, head.q, head.k);
  const at::Tensor before = pair_distances(tokens, joint(head.q, head.k));
  const at::Tensor after = pair_distances(tokens, joint(transform.queries(head), transform.keys(head)));
  const std::int64_t pairs = dots.numel(), step = std::max<std::int64_t>(1, (pairs + 2999) / 3000);
  mechlens::ScatterFigure f;
  f.name = name;
  std::ostringstream title;
  title << std::setprecision(2) << "dot product vs distance, " << who << " (corr " << correlation(dots, before)
        << " before, " << correlation(dots, after) << " after)";
  f.title = title.str();
  f.x_label = "q . k (raw score x sqrt(d_head))";
  f.y_label = "|q - k|";
  f.group_names = {"before normalisation", "after normalisation"};
  for (int g = 0; g < 2; ++g) {
    const at::Tensor d = (g == 0 ? before : after).contiguous();
    for (std::int64_t i = 0; i < pairs; i += step) {
      f.x.push_back(dots[i].item<double>());
      f.y.push_back(d[i].item<double>());
      f.group.push_back(g);
    }
  }
  return f;
}

}  // namespace attentionviz
