// The logit lens' report section, from the archive alone: the target's rank
// per layer entry at each input's answer, the top-1 token tables, the
// visual-token maps over the images, built by the same functions as the
// run's PNG files (lens_figures.cpp). The answer position and the image
// paths come from the run's inputs/ group ("../../inputs").
#include <algorithm>
#include <cmath>

#include "lens_figures.hpp"

namespace logit_lens {

using namespace mechlens;

namespace {

constexpr std::size_t kMaxInputs = 10;  // as the run draws
constexpr std::size_t kMaxColumns = 40;

// The run's per-input table `name` ("answer_position", "image"), or empty.
std::vector<std::string> run_inputs_strings(const GroupView& group, const std::string& name) {
  try {
    const auto inputs = group.group("../../inputs");
    if (inputs->has_dataset(name)) return inputs->strings(name);
  } catch (const MissingData&) {
  }
  return {};
}
std::vector<double> run_inputs_numbers(const GroupView& group, const std::string& name) {
  try {
    const auto inputs = group.group("../../inputs");
    if (inputs->has_dataset(name)) return inputs->f64(name).values;
  } catch (const MissingData&) {
  }
  return {};
}

}  // namespace

void report_section(const GroupView& group, ReportPage& page) {
  const std::vector<std::string> ids = group.strings("input");
  const ArrayView position = group.f64("position");  // [input, pos], -1 = padding
  const ArrayView rank = group.f64("target_rank");   // [input, E, pos]
  const std::int64_t N = position.size(0), P = position.size(1), E = rank.size(1);
  if (N != static_cast<std::int64_t>(ids.size()) || rank.size(0) != N || rank.size(2) != P)
    fail(group.path(), "position and target_rank do not cover the same inputs and positions");
  const std::vector<double> answer = run_inputs_numbers(group, "answer_position");
  if (answer.size() != ids.size())
    page.note("the run's inputs/answer_position is missing: ranks are shown at each input's last decoded position");

  // The slot of each input's answer among its decoded positions (else its last one).
  std::vector<std::int64_t> slot(ids.size(), -1), count(ids.size(), 0);
  for (std::int64_t i = 0; i < N; ++i)
    for (std::int64_t p = 0; p < P; ++p) {
      const double at = position.values[i * P + p];
      if (at < 0) continue;
      count[i] = p + 1;
      if (i < static_cast<std::int64_t>(answer.size()) && at == answer[i]) slot[i] = p;
    }
  std::vector<std::string> shown;
  std::vector<std::vector<double>> ranks;
  for (std::size_t i = 0; i < ids.size() && i < kMaxInputs; ++i) {
    const std::int64_t s = slot[i] >= 0 ? slot[i] : count[i] - 1;
    if (s < 0) continue;
    std::vector<double> y;
    for (std::int64_t e = 0; e < E; ++e) y.push_back(rank.values[(i * E + e) * P + s]);
    shown.push_back(ids[i]);
    ranks.push_back(std::move(y));
  }
  const bool final_norm = group.number_attr("param.final_norm").value_or(group.number_attr("final_norm").value_or(1)) != 0;
  page.lines(rank_figure(final_norm, E, shown, ranks));

  // Top-1 tables: the non-image positions, at most the last 40.
  if (group.has_dataset("topk_prob") && group.has_dataset("topk_token") && group.has_dataset("token")) {
    const ArrayView prob = group.f64("topk_prob");  // [input, E, pos, k]
    const std::int64_t K = prob.size(3);
    const std::vector<std::string> top = group.strings("topk_token");
    const std::vector<std::string> token = group.strings("token");
    const std::vector<std::string> modality =
        group.has_dataset("modality") ? group.strings("modality") : std::vector<std::string>(token.size());
    for (std::size_t i = 0; i < ids.size() && i < kMaxInputs; ++i) {
      std::vector<std::int64_t> slots;
      for (std::int64_t p = 0; p < count[i]; ++p)
        if (position.values[i * P + p] >= 0 && modality[i * P + p] != "image") slots.push_back(p);
      if (slots.empty()) continue;
      if (slots.size() > kMaxColumns) slots.erase(slots.begin(), slots.end() - kMaxColumns);
      std::vector<std::string> tokens, top1;
      std::vector<double> probs;
      for (std::int64_t p : slots) tokens.push_back(token[i * P + p]);
      for (std::int64_t e = 0; e < E; ++e)
        for (std::int64_t p : slots) {
          const std::size_t at = static_cast<std::size_t>(((i * E + e) * P + p) * K);
          probs.push_back(prob.values[at]);
          top1.push_back(top[at]);
        }
      page.heatmap(top1_table(ids[i], E, tokens, std::move(probs), std::move(top1)));
    }
  } else {
    page.note("topk_prob, topk_token or token is missing: the top-1 token tables are not drawn");
  }

  // Visual-token maps: grids/<input id>/crop_<n>, over the input's image.
  if (!group.has_group("grids")) return;
  const std::vector<std::string> images = run_inputs_strings(group, "image");
  for (std::size_t i = 0; i < ids.size() && i < kMaxInputs; ++i) {
    if (!group.has_group("grids/" + ids[i])) continue;
    if (i >= images.size() || images[i].empty()) {
      page.note("input '" + ids[i] + "': the run's inputs/image is missing, so its maps are not drawn");
      continue;
    }
    const auto per_input = group.group("grids/" + ids[i]);
    for (const auto& crop_name : per_input->groups()) {
      if (crop_name.rfind("crop_", 0) != 0) continue;
      const auto crop = per_input->group(crop_name);
      const ArrayView p1 = crop->f64("top1_prob");  // [E, row, col]
      const std::vector<std::string> t1 = crop->strings("top1_token");
      const std::int64_t rows = p1.size(1), cols_all = p1.size(2);
      std::vector<double> separator(static_cast<std::size_t>(rows * cols_all), 0.0);
      if (crop->has_dataset("separator")) separator = crop->f64("separator").values;
      // Layout tokens (the newline column) are not part of the picture, as in the run.
      std::int64_t cols = cols_all;
      while (cols > 0) {
        bool all = true;
        for (std::int64_t r = 0; r < rows; ++r) all = all && separator[r * cols_all + cols - 1] != 0;
        if (!all) break;
        --cols;
      }
      std::vector<double> probs;
      std::vector<std::string> top1;
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < cols; ++c) {
          const std::size_t at = static_cast<std::size_t>(((E - 1) * rows + r) * cols_all + c);
          probs.push_back(p1.values[at]);
          top1.push_back(t1[at]);
        }
      page.image_overlay(top1_map(ids[i], std::stoi(crop_name.substr(5)), images[i], static_cast<int>(rows),
                                  static_cast<int>(cols), std::move(probs), std::move(top1)));
    }
  }
}

}  // namespace logit_lens
