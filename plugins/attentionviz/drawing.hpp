#pragma once
// The figures: the joint scatter (queries and keys in two groups, the top
// attention edges as lines with opacity = weight, chosen tokens labelled) and
// the seed's Fig. 4(b), raw dot product q.k against the distance |q - k|
// before and after the normalisation.
#include <string>
#include <vector>

#include "checks.hpp"
#include "collect.hpp"
#include "mechlens/figures.hpp"
#include "normalise.hpp"

namespace attentionviz {

// Label of each point (queries then keys): its token when chosen, else "".
// No tokens chosen: every point when there are at most 40 tokens.
std::vector<std::string> point_labels(const Tokens& tokens, const std::vector<std::string>& chosen);

// `coords` holds 2 values per point (x, y), queries first then keys.
mechlens::ScatterFigure joint_scatter(const std::string& name, const std::string& title, const double* coords,
                                      std::int64_t points, const std::vector<Edge>& edges,
                                      const std::vector<std::string>& labels);

// One point per attended pair (at most 3000, evenly spaced), two groups.
mechlens::ScatterFigure dot_vs_distance(const std::string& name, const std::string& who, const Tokens& tokens,
                                        const HeadVectors& head, const Transform& transform);

}  // namespace attentionviz
