#include "output.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "mechlens/tensor_store.hpp"

namespace atman {

using namespace mechlens;

namespace {

// Relevance at every position of the sequence, NaN where not explained.
at::Tensor relevance_by_position(const Explanation& e) {
  at::Tensor out = at::full({static_cast<std::int64_t>(e.sequence.ids.size())}, NAN, at::kDouble);
  for (std::size_t r = 0; r < e.explained.size(); ++r) out[e.explained[r]] = e.relevance[r].item<double>();
  return out;
}

// One crop's patch grid: relevance per cell (NaN for separators and cells not explained).
struct CropGrid {
  int crop = 0;
  int rows = 0, cols = 0;
  std::vector<double> relevance;
  std::vector<std::int64_t> position;
};

std::vector<CropGrid> crop_grids(const Explanation& e) {
  const at::Tensor by_pos = relevance_by_position(e);
  std::map<int, CropGrid> grids;
  const auto& ann = e.sequence.annotations;
  for (const TokenAnnotation& a : ann) {
    if (a.modality != Modality::image || a.separator || a.crop < 0) continue;
    CropGrid& g = grids[a.crop];
    g.crop = a.crop;
    g.rows = std::max(g.rows, a.row + 1);
    g.cols = std::max(g.cols, a.col + 1);
  }
  for (auto& [crop, g] : grids) {
    g.relevance.assign(static_cast<std::size_t>(g.rows * g.cols), NAN);
    g.position.assign(g.relevance.size(), -1);
  }
  for (std::size_t t = 0; t < ann.size(); ++t) {
    const TokenAnnotation& a = ann[t];
    if (a.modality != Modality::image || a.separator || a.crop < 0) continue;
    CropGrid& g = grids[a.crop];
    const auto cell = static_cast<std::size_t>(a.row * g.cols + a.col);
    g.relevance[cell] = by_pos[static_cast<std::int64_t>(t)].item<double>();
    g.position[cell] = static_cast<std::int64_t>(t);
  }
  std::vector<CropGrid> out;
  for (auto& [crop, g] : grids) out.push_back(std::move(g));
  return out;
}

std::unique_ptr<ResultGroup> nested(ResultGroup& root, const std::string& top, const std::string& id) {
  // grids/<input id>; the '/' of an image folder's ids nests, as inputs/by_id does.
  std::unique_ptr<ResultGroup> g = root.group(top);
  for (std::size_t start = 0;;) {
    const std::size_t slash = id.find('/', start);
    g = g->group(id.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return g;
}

std::string safe_name(const std::string& id) {
  std::string s = id;
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) c = '_';
  return s;
}

}  // namespace

void write(RunContext& ctx, const std::vector<Explanation>& all, const Settings& s) {
  const auto N = static_cast<std::int64_t>(all.size());
  std::int64_t T = 1, P = 1;
  for (const auto& e : all) {
    T = std::max<std::int64_t>(T, static_cast<std::int64_t>(e.sequence.ids.size()));
    P = std::max<std::int64_t>(P, static_cast<std::int64_t>(e.target_ids.size()));
  }
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  at::Tensor relevance = at::full({N, T}, NAN, f64);
  at::Tensor score = at::full({N, T, P}, NAN, f64);
  at::Tensor explained = at::zeros({N, T}, at::kByte);
  at::Tensor token_id = at::full({N, T}, -1, at::kLong);
  at::Tensor target_id = at::full({N, P}, -1, at::kLong);
  at::Tensor target_position = at::full({N, P}, -1, at::kLong);
  at::Tensor clean_ce = at::full({N, P}, NAN, f64);
  at::Tensor forwards = at::empty({N}, f64), no_reuse = at::empty({N}, f64), reuse = at::empty({N}, f64);
  std::vector<std::string> token(static_cast<std::size_t>(N * T)), modality(token.size());
  std::vector<std::string> target_token(static_cast<std::size_t>(N * P)), source(static_cast<std::size_t>(N));
  for (std::int64_t i = 0; i < N; ++i) {
    const Explanation& e = all[i];
    const auto L = static_cast<std::int64_t>(e.sequence.ids.size());
    const auto n = static_cast<std::int64_t>(e.target_ids.size());
    relevance[i].narrow(0, 0, L).copy_(relevance_by_position(e));
    for (std::size_t r = 0; r < e.explained.size(); ++r) {
      score[i][e.explained[r]].narrow(0, 0, n).copy_(e.score[static_cast<std::int64_t>(r)]);
      explained[i][e.explained[r]] = 1;
    }
    token_id[i].narrow(0, 0, L).copy_(at::tensor(e.sequence.ids, at::kLong));
    target_id[i].narrow(0, 0, n).copy_(at::tensor(e.target_ids, at::kLong));
    target_position[i].narrow(0, 0, n).copy_(at::tensor(e.target_positions, at::kLong));
    clean_ce[i].narrow(0, 0, n).copy_(e.clean_ce);
    forwards[i] = e.forwards;
    no_reuse[i] = e.forwards_no_reuse;
    reuse[i] = e.forwards_prefix_reuse;
    for (std::int64_t t = 0; t < L; ++t) {
      token[i * T + t] = e.sequence.tokens.at(t);
      modality[i * T + t] = to_string(e.sequence.annotations.at(t).modality);
    }
    for (std::int64_t p = 0; p < n; ++p) target_token[i * P + p] = ctx.model.token_string(e.target_ids[p]);
    source[i] = e.target_source;
  }
  ResultGroup& out = ctx.results;
  write_tensor(out, "relevance", relevance, {"input", "pos"});
  write_tensor(out, "score", score, {"input", "pos", "target"});
  write_tensor(out, "explained", explained, {"input", "pos"});
  write_tensor(out, "token_id", token_id, {"input", "pos"});
  out.write_strings("token", token, {N, T}, {"input", "pos"});
  out.write_strings("modality", modality, {N, T}, {"input", "pos"});
  write_tensor(out, "target_id", target_id, {"input", "target"});
  out.write_strings("target_token", target_token, {N, P}, {"input", "target"});
  write_tensor(out, "target_position", target_position, {"input", "target"});
  write_tensor(out, "clean_cross_entropy", clean_ce, {"input", "target"});
  out.write_strings("target_source", source, "input");
  write_tensor(out, "forwards", forwards, {"input"});
  write_tensor(out, "forwards_no_reuse", no_reuse, {"input"});
  write_tensor(out, "forwards_prefix_reuse", reuse, {"input"});
  out.set_attr("score_meaning",
               std::string("score = clean - suppressed cross-entropy of each target token (the authors' code's sign: "
                           "negative where suppressing the token made the target less likely); relevance = ") +
                   (s.aggregate == "squared_sum" ? "sum over target tokens of score^2" : "sum over target tokens of score"));
  out.set_attr("aggregate", s.aggregate);
  out.set_attr("forwards_meaning",
               std::string("forward-equivalents (clean forward + suppressed rows x positions run / T + "
                           "generation): forwards = spent; forwards_no_reuse = every row a full forward; "
                           "forwards_prefix_reuse = each chunk of max_batch rows run from its first suppressed key "
                           "(causal models; = forwards_no_reuse for bidirectional ones)"));
  for (std::int64_t i = 0; i < N; ++i) {
    const std::vector<CropGrid> grids = crop_grids(all[i]);
    if (grids.empty()) continue;
    auto per_input = nested(out, "grids", ctx.inputs[i].spec.id);
    for (const CropGrid& g : grids) {
      auto c = per_input->group("crop_" + std::to_string(g.crop));
      write_tensor(*c, "relevance", at::tensor(g.relevance, at::kDouble).view({g.rows, g.cols}), {"row", "col"});
      write_tensor(*c, "position", at::tensor(g.position, at::kLong).view({g.rows, g.cols}), {"row", "col"});
    }
  }
}

void draw(RunContext& ctx, const std::vector<Explanation>& all, std::int64_t max_inputs) {
  for (std::size_t i = 0; i < all.size() && static_cast<std::int64_t>(i) < max_inputs; ++i) {
    const Explanation& e = all[i];
    const EncodedInput& input = ctx.inputs[i];
    const std::string stem = safe_name(input.spec.id);
    std::string target;
    for (std::int64_t id : e.target_ids) target += ctx.model.token_string(id);
    // Text relevance as coloured tokens (image tokens left out: they get the map).
    TokenStripFigure strip;
    strip.name = "tokens_" + stem;
    strip.title = "AtMan relevance for target '" + target + "' (" + e.target_source + ")";
    const at::Tensor by_pos = relevance_by_position(e);
    for (std::size_t t = 0; t < e.sequence.ids.size(); ++t) {
      if (e.sequence.annotations[t].modality == Modality::image) continue;
      strip.tokens.push_back(e.sequence.tokens[t]);
      strip.values.push_back(by_pos[static_cast<std::int64_t>(t)].item<double>());
    }
    ctx.figures.token_strip(strip);
    if (!input.spec.image) continue;
    for (const CropGrid& g : crop_grids(e)) {
      if (std::none_of(g.relevance.begin(), g.relevance.end(), [](double v) { return !std::isnan(v); })) continue;
      ImageOverlayFigure f;
      f.name = "image_" + stem + "_crop" + std::to_string(g.crop);
      f.title = "AtMan relevance, " + std::string(g.crop == 0 ? "base image" : "high-res grid") + ", target '" +
                target + "'";
      f.image_path = *input.spec.image;
      f.rows = g.rows;
      f.cols = g.cols;
      f.values = g.relevance;
      ctx.figures.image_overlay(f);
    }
  }
}

void report(RunContext& ctx, const std::vector<Explanation>& all, const Settings& s) {
  double forwards = 0, no_reuse = 0, reuse = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Explanation& e = all[i];
    forwards += e.forwards;
    no_reuse += e.forwards_no_reuse;
    reuse += e.forwards_prefix_reuse;
    if (i >= 5) continue;
    // The most relevant tokens: largest |relevance| (the sign depends on the aggregate).
    const at::Tensor order = e.relevance.abs().argsort(0, /*descending=*/true);
    std::ostringstream line;
    std::string target;
    for (std::int64_t id : e.target_ids) target += ctx.model.token_string(id);
    line << "input " << ctx.inputs[i].spec.id << ": target '" << target << "' (" << e.target_source
         << "), most relevant:";
    for (std::int64_t k = 0; k < std::min<std::int64_t>(3, order.numel()); ++k) {
      const std::int64_t r = order[k].item<std::int64_t>();
      const std::int64_t t = e.explained[static_cast<std::size_t>(r)];
      line << " '" << e.sequence.tokens[static_cast<std::size_t>(t)] << "'@" << t << " (" << e.relevance[r].item<double>()
           << ")";
    }
    ctx.findings.push_back(line.str());
  }
  std::ostringstream cost;
  cost << "AtMan (" << s.aggregate << ", factor " << s.factor << (s.conceptual ? ", correlated suppression" : "")
       << ") cost " << forwards << " forward-equivalents over " << all.size() << " inputs (" << no_reuse
       << " without causal prefix reuse, " << reuse << " with it" << (s.prefix_reuse ? ", used" : ", not used")
       << ")";
  ctx.findings.push_back(cost.str());
  ctx.results.set_attr("forwards_total", forwards);
  ctx.results.set_attr("forwards_no_reuse_total", no_reuse);
  ctx.results.set_attr("forwards_prefix_reuse_total", reuse);
}

}  // namespace atman
