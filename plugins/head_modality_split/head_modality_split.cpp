// Head modality split (seed 003): for every layer and query head, how much of
// the query position's attention lands on image tokens, on text tokens and on
// special tokens, and within the image on the base crop, the high-res grid
// and the layout (newline) tokens. Summed and averaged over inputs, as the
// seed accumulates over a folder of flower photos with one prompt.
//
// Only the query rows of each attention pattern are kept: the pattern is read
// at its hook point, reduced to a few numbers per head, and dropped.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "mechlens/archive_view.hpp"
#include "mechlens/layer_selection.hpp"
#include "mechlens/plugin.hpp"
#include "mechlens/report_page.hpp"
#include "mechlens/positions.hpp"
#include "mechlens/run_context.hpp"
#include "mechlens/tensor_store.hpp"

namespace {

using namespace mechlens;

const std::vector<std::string> kModalities = {"text", "image", "special"};  // Modality's order
const std::vector<std::string> kImageParts = {"base", "high_res", "separator"};

// Per key position: one-hot of its modality [T, 3] and of its image part [T, 3].
std::pair<at::Tensor, at::Tensor> key_classes(const EncodedInput& input) {
  const auto T = static_cast<std::int64_t>(input.annotations.size());
  at::Tensor modality = at::zeros({T, 3}, at::kFloat), part = at::zeros({T, 3}, at::kFloat);
  for (std::int64_t t = 0; t < T; ++t) {
    const TokenAnnotation& a = input.annotations[static_cast<std::size_t>(t)];
    modality[t][static_cast<int>(a.modality)] = 1.0f;
    if (a.modality == Modality::image) part[t][a.separator ? 2 : a.crop <= 0 ? 0 : 1] = 1.0f;
  }
  return {modality, part};
}

class HeadModalitySplit : public Analysis {
 public:
  static PluginInfo describe() {
    return {"head_modality_split", "1.0.0",
            "Attention mass of each head's query position on image, text and special tokens (seed 003)",
            {
                param::string_list("query", {"last"},
                                   "Query position(s) whose attention is split: last (default, as the seed), "
                                   "answer, text, or an index as a string (\"-1\"); several positions are averaged"),
                param::integer_list("layers", {}, "Layers to measure (empty = all)"),
                param::real("mostly", 0.5,
                            "A head looks mostly at the image when its image mass exceeds this (the per-layer share "
                            "of such heads is reported)")
                    .at_least(0.0)
                    .at_most(1.0),
            }};
  }

  void run(RunContext& ctx) override {
    const Geometry g = ctx.model.geometry();
    const auto& query = ctx.params.get<std::vector<std::string>>("query");
    check_position_specs(query, "head_modality_split: query");
    const std::vector<int> layers = chosen_layers(ctx.params, g.n_layers, "head_modality_split: layers");
    const auto N = static_cast<std::int64_t>(ctx.inputs.size());
    const auto f64 = at::TensorOptions().dtype(at::kDouble);
    // NaN where a layer is not measured.
    at::Tensor mass = at::full({N, g.n_layers, g.n_heads, 3}, NAN, f64);
    at::Tensor part = at::full({N, g.n_layers, g.n_heads, 3}, NAN, f64);
    std::vector<std::int64_t> n_query(N);

    for (std::int64_t i = 0; i < N; ++i) {
      ctx.progress.update("head_modality_split", i, N);
      const EncodedInput& input = ctx.inputs[i];
      const std::vector<std::int64_t> rows = select_positions(input, query, "head_modality_split: query");
      n_query[i] = static_cast<std::int64_t>(rows.size());
      const auto [modality_of_key, part_of_key] = key_classes(input);
      const at::Tensor query_rows = at::tensor(rows, at::kLong);

      HookSet hooks;
      for (int l : layers) {
        const std::string name = "blocks." + std::to_string(l) + ".attn.hook_pattern";
        hooks.add_read(name, [&, l](const std::string&, const at::Tensor& pattern) {
          // pattern [1, H, T, T] → the query rows [H, Q, T] → mass per class, mean over queries.
          const at::Tensor p = pattern[0].index_select(1, query_rows.to(pattern.device())).to(at::kFloat).cpu();
          mass[i][l].copy_(at::matmul(p, modality_of_key).mean(1));
          part[i][l].copy_(at::matmul(p, part_of_key).mean(1));
        });
      }
      const Batch single = ctx.model.make_batch({&input});
      ctx.model.forward(single, &hooks, at::tensor({static_cast<std::int64_t>(input.ids.size()) - 1}, at::kLong));
    }
    write(ctx, mass, part, n_query, g);
  }

 private:
  static void write(RunContext& ctx, const at::Tensor& mass, const at::Tensor& part,
                    const std::vector<std::int64_t>& n_query, const Geometry& g) {
    ResultGroup& out = ctx.results;
    write_tensor(out, "layer", at::arange(g.n_layers, at::kLong), {"layer"});
    write_tensor(out, "head", at::arange(g.n_heads, at::kLong), {"head"});
    out.write_strings("modality", kModalities, "modality");
    out.write_strings("image_part", kImageParts, "image_part");
    write_tensor(out, "mass", mass, {"input", "layer", "head", "modality"});
    write_tensor(out, "image_part_mass", part, {"input", "layer", "head", "image_part"});
    write_tensor(out, "n_query", at::tensor(n_query, at::kLong), {"input"});
    std::vector<std::vector<std::string>> tags_of;
    for (const auto& input : ctx.inputs) tags_of.push_back(input.spec.tags);
    const double mostly = ctx.params.get<double>("mostly");
    const auto [image_share, mostly_image] = write_aggregates(out, ctx.findings, mass, part, tags_of, mostly);
    const at::Tensor share = image_share.contiguous(), per_layer = mostly_image.contiguous();
    draw(ctx.figures, {share.data_ptr<double>(), share.data_ptr<double>() + share.numel()},
         {per_layer.data_ptr<double>(), per_layer.data_ptr<double>() + per_layer.numel()}, g.n_layers, g.n_heads,
         ctx.inputs.size(), mostly);
  }

  // Everything over inputs: sums, means, per tag, the share of heads mostly
  // on the image, the findings. Also run by `mechlens merge` over the merged
  // shards (merge_rules). Returns the image share [layer, head] and mostly_image_share [layer].
  static std::pair<at::Tensor, at::Tensor> write_aggregates(ResultGroup& out, std::vector<std::string>& findings,
                                                            const at::Tensor& mass, const at::Tensor& part,
                                                            const std::vector<std::vector<std::string>>& tags_of,
                                                            double mostly) {
    const std::int64_t n_layers = mass.size(1), n_heads = mass.size(2);
    write_tensor(out, "mass_sum", mass.sum(0), {"layer", "head", "modality"});
    const at::Tensor mean = mass.mean(0);
    write_tensor(out, "mass_mean", mean, {"layer", "head", "modality"});
    write_tensor(out, "image_part_mass_mean", part.mean(0), {"layer", "head", "image_part"});

    // Per tag (inputs may carry several): the mean over the inputs with it.
    std::vector<std::string> tags;
    for (const auto& input_tags : tags_of)
      for (const auto& t : input_tags)
        if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
    if (!tags.empty()) {
      at::Tensor by_tag = at::zeros({static_cast<std::int64_t>(tags.size()), n_layers, n_heads, 3}, at::kDouble);
      std::vector<std::int64_t> count(tags.size());
      for (std::size_t i = 0; i < tags_of.size(); ++i)
        for (const auto& t : tags_of[i]) {
          const auto k = std::find(tags.begin(), tags.end(), t) - tags.begin();
          by_tag[k] += mass[static_cast<std::int64_t>(i)];
          ++count[k];
        }
      for (std::size_t k = 0; k < tags.size(); ++k) by_tag[static_cast<std::int64_t>(k)] /= static_cast<double>(count[k]);
      out.write_strings("tag", tags, "tag");
      write_tensor(out, "tag_count", at::tensor(count, at::kLong), {"tag"});
      write_tensor(out, "mass_mean_by_tag", by_tag, {"tag", "layer", "head", "modality"});
    }

    const at::Tensor image_share = mean.select(2, 1);  // [layer, head]
    const at::Tensor mostly_image = (image_share > mostly).to(at::kDouble).mean(1);  // NaN layers compare false
    write_tensor(out, "mostly_image_share", mostly_image, {"layer"});
    summarise(out, findings, image_share, mostly_image, n_layers, n_heads);
    return {image_share, mostly_image};
  }

 public:
  // Shards (mechlens merge): mass, image_part_mass and n_query concatenate
  // (the default); every aggregate over inputs is computed again from them
  // (and the inputs' tags) by the code the run uses.
  static MergeRules merge_rules(const ParamValues&) {
    MergeRules rules;
    for (const char* name : {"mass_sum", "mass_mean", "image_part_mass_mean", "tag", "tag_count", "mass_mean_by_tag",
                             "mostly_image_share"})
      rules.datasets.push_back({name, Combine::recompute});
    rules.attributes = {{"top_image_layer", Combine::recompute}, {"top_image_head", Combine::recompute}};
    rules.summarise = &summarise_merged;
    return rules;
  }

 private:
  static at::Tensor tensor_of(const GroupView& group, const std::string& name) {
    const ArrayView a = group.f64(name);
    return at::tensor(a.values, at::kDouble).view(a.shape);
  }

  static void summarise_merged(const GroupView& merged, ResultGroup& out, std::vector<std::string>& findings) {
    const std::unique_ptr<GroupView> by_id = merged.group("../../inputs/by_id");
    std::vector<std::vector<std::string>> tags_of;
    for (const std::string& id : merged.strings("input")) tags_of.push_back(by_id->group(id)->texts_attr("tags"));
    const double mostly = merged.number_attr("param.mostly").value_or(0.5);
    write_aggregates(out, findings, tensor_of(merged, "mass"), tensor_of(merged, "image_part_mass"), tags_of, mostly);
  }

  // The run's files and the report page draw with this one function.
  static void draw(Figures& figures, const std::vector<double>& image_share, const std::vector<double>& mostly_image,
                   int n_layers, int n_heads, std::size_t n_inputs, double mostly) {
    HeatmapFigure map;
    map.name = "image_share";
    map.title = "attention mass on image tokens (mean over " + std::to_string(n_inputs) + " inputs)";
    map.rows = n_layers, map.cols = n_heads;
    map.range = std::array<double, 2>{0.0, 1.0};
    map.values = image_share;
    figures.heatmap(map);

    LineFigure line;
    line.name = "mostly_image_heads";
    line.title = "share of heads with image mass > " + std::to_string(mostly).substr(0, 4) + ", per layer";
    line.x_label = "layer";
    line.y_label = "share of heads";
    LineFigure::Series s{"heads mostly on the image", mostly_image};
    for (int l = 0; l < n_layers; ++l) line.x.push_back(l);
    line.series.push_back(std::move(s));
    figures.lines(line);
  }

 public:
  // Report section, from the archive alone: the figures of the run, then the
  // mean mass per modality of the most image-attending heads.
  static void report(const GroupView& group, ReportPage& page) {
    const ArrayView mean = group.f64("mass_mean");  // [layer, head, modality]
    const int n_layers = static_cast<int>(mean.size(0)), n_heads = static_cast<int>(mean.size(1));
    const std::int64_t n_mod = mean.size(2);
    std::vector<std::string> modalities = group.has_dataset("modality") ? group.strings("modality") : kModalities;
    std::vector<double> image_share(static_cast<std::size_t>(n_layers) * n_heads);
    for (std::size_t i = 0; i < image_share.size(); ++i) image_share[i] = mean.values[i * n_mod + 1];
    const double mostly = group.number_attr("param.mostly").value_or(0.5);
    std::vector<double> mostly_image;
    if (group.has_dataset("mostly_image_share")) {
      mostly_image = group.f64("mostly_image_share").values;
    } else {
      page.note("mostly_image_share is missing: recomputed from mass_mean");
      for (int l = 0; l < n_layers; ++l) {
        double n = 0;
        for (int h = 0; h < n_heads; ++h) n += image_share[l * n_heads + h] > mostly;
        mostly_image.push_back(n / n_heads);
      }
    }
    const std::size_t n_inputs = group.has_dataset("input") ? group.strings("input").size() : 0;
    draw(page, image_share, mostly_image, n_layers, n_heads, n_inputs, mostly);

    std::vector<std::size_t> order(image_share.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto key = [&](std::size_t i) { return std::isnan(image_share[i]) ? -1.0 : image_share[i]; };
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key(a) > key(b); });
    TableFigure top;
    top.title = "heads with the most attention on the image (mean over inputs)";
    top.header = {"layer", "head"};
    for (std::int64_t m = 0; m < n_mod; ++m)
      top.header.push_back(m < static_cast<std::int64_t>(modalities.size()) ? modalities[m] : std::to_string(m));
    for (std::size_t k = 0; k < order.size() && k < 10; ++k) {
      const std::size_t i = order[k];
      std::vector<std::string> row = {std::to_string(i / n_heads), std::to_string(i % n_heads)};
      for (std::int64_t m = 0; m < n_mod; ++m) {
        std::ostringstream v;
        v << mean.values[i * n_mod + m];
        row.push_back(v.str());
      }
      top.rows.push_back(row);
    }
    page.table(top);
  }

 private:
  static void summarise(ResultGroup& results, std::vector<std::string>& findings, const at::Tensor& image_share,
                        const at::Tensor& mostly_image, std::int64_t n_layers, std::int64_t n_heads) {
    const at::Tensor finite = image_share.nan_to_num(-1.0);
    const std::int64_t best = finite.flatten().argmax().item<std::int64_t>();
    const int layer = static_cast<int>(best / n_heads), head = static_cast<int>(best % n_heads);
    std::ostringstream line;
    line << "most image-attending head: layer " << layer << " head " << head << " (mean image mass "
         << image_share[layer][head].item<double>() << ")";
    findings.push_back(line.str());
    results.set_attr("top_image_layer", static_cast<std::int64_t>(layer));
    results.set_attr("top_image_head", static_cast<std::int64_t>(head));
    std::ostringstream share;
    share << "share of heads mostly on the image: layer 0 " << mostly_image[0].item<double>() << ", layer "
          << n_layers - 1 << " " << mostly_image[n_layers - 1].item<double>();
    findings.push_back(share.str());
  }
};

}  // namespace

MECHLENS_PLUGIN(HeadModalitySplit)
