#include "lens_figures.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace logit_lens {

using namespace mechlens;

std::vector<CropGrid> crop_grids(const EncodedInput& input, const std::vector<std::int64_t>& positions) {
  std::map<int, CropGrid> by_crop;
  for (const auto& a : input.annotations)
    if (a.modality == Modality::image && a.crop >= 0) {
      CropGrid& g = by_crop[a.crop];
      g.crop = a.crop;
      g.rows = std::max<std::int64_t>(g.rows, a.row + 1);
      g.cols = std::max<std::int64_t>(g.cols, a.col + 1);
    }
  for (auto& [crop, g] : by_crop) {
    g.slot.assign(static_cast<std::size_t>(g.rows * g.cols), -1);
    g.separator.assign(g.slot.size(), 0);
  }
  bool any = false;
  for (std::size_t s = 0; s < positions.size(); ++s) {
    const TokenAnnotation& a = input.annotations.at(static_cast<std::size_t>(positions[s]));
    if (a.modality != Modality::image || a.crop < 0) continue;
    CropGrid& g = by_crop[a.crop];
    g.slot[static_cast<std::size_t>(a.row * g.cols + a.col)] = static_cast<std::int64_t>(s);
    any = true;
  }
  for (const auto& a : input.annotations)
    if (a.modality == Modality::image && a.crop >= 0 && a.separator) {
      CropGrid& g = by_crop[a.crop];
      g.separator[static_cast<std::size_t>(a.row * g.cols + a.col)] = 1;
    }
  std::vector<CropGrid> out;
  if (!any) return out;
  for (auto& [crop, g] : by_crop) out.push_back(std::move(g));
  return out;
}

namespace {

std::string entry_name(std::int64_t e, std::int64_t n_layers) {
  return e == n_layers ? "out" : std::to_string(e);
}

void draw_ranks(RunContext& ctx, const std::vector<InputLens>& lenses, std::int64_t E) {
  std::vector<std::string> ids;
  std::vector<std::vector<double>> ranks;
  for (std::size_t i = 0; i < lenses.size() && i < 10; ++i) {
    const InputLens& l = lenses[i];
    const std::int64_t slot = l.answer_slot >= 0 ? l.answer_slot : static_cast<std::int64_t>(l.positions.size()) - 1;
    ids.push_back(ctx.inputs[i].spec.id);
    const at::Tensor r = l.target_rank.select(1, slot);
    std::vector<double> y;
    for (std::int64_t e = 0; e < E; ++e) y.push_back(static_cast<double>(r[e].item<std::int64_t>()));
    ranks.push_back(std::move(y));
  }
  ctx.figures.lines(rank_figure(ctx.params.get<bool>("final_norm"), E, ids, ranks));
}

// Layers x positions, the top-1 token written in each cell, shaded by its
// probability. Visual tokens have their own maps; at most the last 40
// other positions are drawn.
void draw_table(RunContext& ctx, const InputLens& l, const EncodedInput& input, std::int64_t E) {
  std::vector<std::int64_t> slots;
  for (std::size_t s = 0; s < l.positions.size(); ++s)
    if (input.annotations.at(static_cast<std::size_t>(l.positions[s])).modality != Modality::image)
      slots.push_back(static_cast<std::int64_t>(s));
  if (slots.empty()) return;
  if (slots.size() > 40) slots.erase(slots.begin(), slots.end() - 40);
  std::vector<std::string> tokens, top1;
  std::vector<double> probs;
  for (std::int64_t s : slots) tokens.push_back(input.tokens.at(static_cast<std::size_t>(l.positions[s])));
  for (std::int64_t e = 0; e < E; ++e)
    for (std::int64_t s : slots) {
      probs.push_back(l.topk_prob[e][s][0].item<double>());
      top1.push_back(ctx.model.token_string(l.topk_id[e][s][0].item<std::int64_t>()));
    }
  ctx.figures.heatmap(top1_table(input.spec.id, E, tokens, std::move(probs), std::move(top1)));
}

// Seed 004's coarse segmentation map: every visual token's top-1 token after
// the last layer, over the image, one picture per crop.
void draw_maps(RunContext& ctx, const InputLens& l, const EncodedInput& input, std::int64_t E) {
  if (!input.spec.image) return;
  for (const CropGrid& g : crop_grids(input, l.positions)) {
    // Layout tokens (the newline column) are not part of the picture.
    std::int64_t cols = g.cols;
    while (cols > 0) {
      bool all_separators = true;
      for (std::int64_t r = 0; r < g.rows; ++r) all_separators = all_separators && g.separator[r * g.cols + cols - 1];
      if (!all_separators) break;
      --cols;
    }
    std::vector<double> probs;
    std::vector<std::string> top1;
    for (std::int64_t r = 0; r < g.rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c) {
        const std::int64_t s = g.slot[r * g.cols + c];
        probs.push_back(s >= 0 ? l.topk_prob[E - 1][s][0].item<double>() : NAN);
        top1.push_back(s >= 0 ? ctx.model.token_string(l.topk_id[E - 1][s][0].item<std::int64_t>()) : "");
      }
    ctx.figures.image_overlay(top1_map(input.spec.id, g.crop, *input.spec.image, static_cast<int>(g.rows),
                                       static_cast<int>(cols), std::move(probs), std::move(top1)));
  }
}

}  // namespace

void draw(RunContext& ctx, const std::vector<InputLens>& lenses) {
  if (lenses.empty()) return;
  const std::int64_t E = lenses[0].topk_id.size(0);
  draw_ranks(ctx, lenses, E);
  for (std::size_t i = 0; i < lenses.size() && i < 10; ++i) {
    draw_table(ctx, lenses[i], ctx.inputs[i], E);
    draw_maps(ctx, lenses[i], ctx.inputs[i], E);
  }
}

}  // namespace logit_lens

namespace logit_lens {

LineFigure rank_figure(bool final_norm, std::int64_t E, const std::vector<std::string>& ids,
                       const std::vector<std::vector<double>>& ranks) {
  LineFigure f;
  f.name = "target_rank";
  f.title = std::string("rank of the target per layer entry (") +
            (final_norm ? "normalised lens" : "raw residual x W_U") + ")";
  f.x_label = "layer entry (residual entering layer e; out = after the last layer)";
  f.y_label = "rank (1 = top)";
  f.log_y = true;
  for (std::int64_t e = 0; e < E; ++e) {
    f.x.push_back(static_cast<double>(e));
    f.x_names.push_back(entry_name(e, E - 1));
  }
  for (std::size_t i = 0; i < ids.size() && i < ranks.size(); ++i) f.series.push_back({ids[i], ranks[i]});
  return f;
}

HeatmapFigure top1_table(const std::string& id, std::int64_t E, const std::vector<std::string>& tokens,
                         std::vector<double> probs, std::vector<std::string> top1) {
  HeatmapFigure f;
  f.name = "top1_" + id;
  f.title = "top-1 token per layer entry, input " + id;
  f.rows = static_cast<int>(E);
  f.cols = static_cast<int>(tokens.size());
  f.row_label = "layer entry";
  f.col_label = "position";
  f.range = std::array<double, 2>{0.0, 1.0};
  for (std::int64_t e = 0; e < E; ++e) f.row_names.push_back(entry_name(e, E - 1));
  f.col_names = tokens;
  f.values = std::move(probs);
  f.cell_text = std::move(top1);
  return f;
}

ImageOverlayFigure top1_map(const std::string& id, int crop, const std::string& image, int rows, int cols,
                            std::vector<double> probs, std::vector<std::string> top1) {
  ImageOverlayFigure f;
  f.name = "map_" + id + "_crop" + std::to_string(crop);
  f.title = "top-1 token of each visual token after the last layer, input " + id +
            (crop == 0 ? " (base image)" : " (high-res grid)");
  f.image_path = image;
  f.rows = rows;
  f.cols = cols;
  f.range = std::array<double, 2>{0.0, 1.0};
  f.values = std::move(probs);
  if (static_cast<std::int64_t>(rows) * cols <= 1024) f.cell_text = std::move(top1);
  return f;
}

}  // namespace logit_lens
