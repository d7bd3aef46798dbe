// AttentionViz (seed 001; Yeh et al., arXiv 2305.03210): one head's queries
// and keys in one joint 2-D/3-D space, so that distance stands for attention,
// after a normalisation that leaves every attention pattern unchanged
// (normalise.hpp). Stored per head: the transform (c, key shift), the checks
// (max |Δ pattern|, dot-product/distance correlations before and after, how
// often the nearest key is the most-attended one), PCA 2-D/3-D and t-SNE
// coordinates of the joint point set before and after, and the top attention
// edges. One resume unit per layer.
//
// No UMAP: Debian packages it for R (r-cran-uwot) and Python (umap-learn)
// only; the C++ implementations (uwot's core, libscran's umappp) are not
// packaged, and t-SNE covers the paper's non-linear view.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "checks.hpp"
#include "collect.hpp"
#include "drawing.hpp"
#include "mechlens/plugin.hpp"
#include "mechlens/run_context.hpp"
#include "mechlens/tensor_store.hpp"
#include "normalise.hpp"
#include "pairs.hpp"
#include "projection.hpp"
#include "report.hpp"
#include "tables.hpp"

namespace {

using namespace mechlens;
using namespace attentionviz;

// Spaces the checks are measured in (the `space` coordinate).
const std::vector<std::string> kSpaces = {"full", "pca2", "pca3", "tsne"};
enum SpaceIndex { kFull = 0, kPca2 = 1, kPca3 = 2, kTsne = 3 };

struct Tables {
  HeadTable scale, pattern_change, reproduction, query_norm, key_norm, query_norm_before, key_norm_before;
  HeadTable key_shift, corr_before, corr_after, hits_before, hits_after;
  HeadTable pca2_before, pca2_after, pca3_before, pca3_after, tsne_before, tsne_after;
  std::vector<HeadTable*> all() {
    return {&scale, &pattern_change, &reproduction, &query_norm, &key_norm, &query_norm_before, &key_norm_before,
            &key_shift, &corr_before, &corr_after, &hits_before, &hits_after, &pca2_before, &pca2_after,
            &pca3_before, &pca3_after, &tsne_before, &tsne_after};
  }
};

class AttentionViz : public Analysis {
 public:
  // Shards: one picture of every input's tokens (PCA, t-SNE over all of
  // them) cannot be split by inputs.
  static MergeRules merge_rules(const ParamValues&) {
    MergeRules rules;
    rules.by_inputs = false;
    rules.why_not = "it embeds the queries and keys of every input's tokens in one joint picture (PCA, t-SNE)";
    return rules;
  }

  static PluginInfo describe() {
    return {"attentionviz", "1.0.0",
            "Joint query/key embeddings per head (PCA, t-SNE) after AttentionViz's attention-preserving normalisation",
            {
                param::integer_list("layers", {}, "Layers whose heads are embedded (empty = all)"),
                param::integer_list("heads", {}, "Query heads embedded in each chosen layer (empty = all)"),
                param::string("scale", "equal_norms",
                              "How c is chosen (queries x c, keys / c): equal_norms (mean |q'| = mean |k'|), "
                              "max_correlation (the correlation between raw dot products q.k and distances "
                              "|q' - k'| over attended pairs is most negative), none (c = 1, translation only)")
                    .choices({"equal_norms", "max_correlation", "none"}),
                param::string("distance", "full",
                              "Where max_correlation measures distances: full (in the d_head space, BEFORE "
                              "projection) or pca2 (in the 2-D PCA of the normalised vectors, AFTER projection)")
                    .choices({"full", "pca2"}),
                param::boolean("weighted", false,
                               "Weight each (query, key) pair by the model's attention weight in every "
                               "dot-product/distance correlation (choosing c and the stored checks)"),
                param::string("normalise_over", "head",
                              "head: c chosen per head; all: one c shared by every chosen layer and head "
                              "(the key shift stays per head: centroids differ per head)")
                    .choices({"head", "all"}),
                param::string("tsne", "after",
                              "Exact t-SNE of the joint points: none, after (normalised vectors only) or both "
                              "(before and after)")
                    .choices({"none", "after", "both"}),
                param::real("tsne_perplexity", 30.0, "t-SNE perplexity (clamped to (points - 1) / 3)").at_least(1.0),
                param::integer("tsne_iterations", 1000, "t-SNE gradient steps (the first quarter, at most 250, "
                                                        "with early exaggeration 12)")
                    .at_least(10),
                param::integer("tsne_max_points", 4000,
                               "Heads with more joint points (2 x tokens) than this skip t-SNE with a warning "
                               "(exact t-SNE is O(points^2))")
                    .at_least(4),
                param::integer("seed", 0, "Seed of t-SNE's random start").at_least(0),
                param::integer("edges_per_query", 2, "Top attention edges stored per query").at_least(1),
                param::real("edge_min_weight", 0.05, "Edges with a smaller attention weight are left out")
                    .at_least(0.0)
                    .at_most(1.0),
                param::boolean("store_vectors", false,
                               "Also store queries and keys before and after normalisation "
                               "[layer, head, token, d_head]"),
                param::boolean("figures", true, "Draw the joint scatters and the dot-product/distance plots"),
                param::integer("figure_heads", 12, "Draw figures for at most this many heads (the first chosen)")
                    .at_least(0),
                param::string_list("label_tokens", {},
                                   "Tokens (as the vocabulary spells them) labelled in the scatters; empty = every "
                                   "point when there are at most 40 tokens, none otherwise"),
            }};
  }

  // Its section of `mechlens report`, from the archive alone (report.cpp).
  static void report(const GroupView& group, ReportPage& page) { attentionviz::report_section(group, page); }

  void run(RunContext& ctx) override {
    const Geometry g = ctx.model.geometry();
    const std::vector<int> layers = chosen(ctx, "layers", g.n_layers);
    const std::vector<int> heads = chosen(ctx, "heads", g.n_heads);
    const Collected data = collect(ctx.model, ctx.inputs, layers, heads);
    const Tokens& tokens = data.tokens;
    const std::int64_t n_tokens = tokens.size(), nl = layers.size(), nh = heads.size();

    write_labels(ctx, data, layers, heads);
    Tables t = make_tables(ctx.results, nl, nh, n_tokens, g.d_head);
    const std::vector<double> shared = shared_scale(ctx, data);

    const std::string tsne_mode = ctx.params.get<std::string>("tsne");
    bool warned_tsne = false;
    for (std::int64_t li = 0; li < nl; ++li) {
      const std::string unit = "layer_" + std::to_string(layers[li]);
      if (ctx.results.unit_done(unit)) continue;
      for (std::int64_t hi = 0; hi < nh; ++hi) {
        ctx.progress.update("attentionviz heads", li * nh + hi, nl * nh);  // t-SNE makes heads slow
        const HeadVectors& head = data.heads[li * nh + hi];
        const double c = shared.empty() ? choose_scale(ctx, tokens, {&head}) : shared.front();
        const bool tsne_ok = 2 * n_tokens <= ctx.params.get<std::int64_t>("tsne_max_points");
        if (!tsne_ok && tsne_mode != "none" && !warned_tsne) {
          ctx.log.warn("attentionviz: " + std::to_string(2 * n_tokens) + " points per head exceed tsne_max_points; "
                       "t-SNE skipped");
          warned_tsne = true;
        }
        measure_head(ctx, data, head, c, tsne_ok ? tsne_mode : "none", t, li, hi);
      }
      for (HeadTable* table : t.all()) table->write(ctx.results);
      if (ctx.params.get<bool>("store_vectors")) store_vectors(ctx, data, t, nl, nh, g.d_head);
      ctx.results.mark_unit_done(unit);
    }
    ctx.progress.update("attentionviz heads", nl * nh, nl * nh);

    const auto edges = write_edges(ctx, data);
    set_attrs(ctx, data);
    report(ctx, t, layers, heads);
    if (ctx.params.get<bool>("figures")) draw_all(ctx, data, t, edges, layers, heads);
  }

 private:
  static std::vector<int> chosen(const RunContext& ctx, const std::string& key, int count) {
    std::vector<int> out;
    for (std::int64_t v : ctx.params.get<std::vector<std::int64_t>>(key)) {
      if (v < 0 || v >= count)
        fail("attentionviz", key + ": " + std::to_string(v) + " outside 0.." + std::to_string(count - 1));
      out.push_back(static_cast<int>(v));
    }
    if (out.empty())
      for (int i = 0; i < count; ++i) out.push_back(i);
    return out;
  }

  static Tables make_tables(const ResultGroup& group, std::int64_t nl, std::int64_t nh, std::int64_t n,
                            std::int64_t d) {
    const std::int64_t spaces = static_cast<std::int64_t>(kSpaces.size());
    auto per_head = [&](const char* name) { return HeadTable(group, name, {nl, nh}, {"layer", "head"}); };
    auto per_space = [&](const char* name) {
      return HeadTable(group, name, {nl, nh, spaces}, {"layer", "head", "space"});
    };
    auto coords = [&](const char* name, std::int64_t k, const char* axis) {
      return HeadTable(group, name, {nl, nh, 2 * n, k}, {"layer", "head", "point", axis});
    };
    return {per_head("scale"),
            per_head("max_pattern_change"),
            per_head("pattern_reproduction_error"),
            per_head("mean_query_norm"),
            per_head("mean_key_norm"),
            per_head("mean_query_norm_before"),
            per_head("mean_key_norm_before"),
            HeadTable(group, "key_shift", {nl, nh, d}, {"layer", "head", "d_head"}),
            per_space("dot_distance_correlation_before"),
            per_space("dot_distance_correlation_after"),
            per_space("nearest_key_is_top_before"),
            per_space("nearest_key_is_top_after"),
            coords("pca2_before", 2, "pca2_axis"),
            coords("pca2_after", 2, "pca2_axis"),
            coords("pca3_before", 3, "pca3_axis"),
            coords("pca3_after", 3, "pca3_axis"),
            coords("tsne_before", 2, "tsne_axis"),
            coords("tsne_after", 2, "tsne_axis")};
  }

  static double choose_scale(const RunContext& ctx, const Tokens& tokens, const std::vector<const HeadVectors*>& hs) {
    const std::string how = ctx.params.get<std::string>("scale");
    if (how == "none") return 1.0;
    const double equal = equal_norm_scale(hs);
    if (how == "equal_norms") return equal;
    return max_correlation_scale(tokens, hs, equal, parse_distance_space(ctx.params.get<std::string>("distance")),
                                 ctx.params.get<bool>("weighted"));
  }

  // normalise_over = all: one c from every chosen head; empty = per head.
  static std::vector<double> shared_scale(const RunContext& ctx, const Collected& data) {
    if (ctx.params.get<std::string>("normalise_over") != "all") return {};
    std::vector<const HeadVectors*> all;
    for (const auto& h : data.heads) all.push_back(&h);
    return {choose_scale(ctx, data.tokens, all)};
  }

  static void put(const at::Tensor& values, double* out) {
    const at::Tensor v = values.to(at::kDouble).contiguous();
    std::copy(v.data_ptr<double>(), v.data_ptr<double>() + v.numel(), out);
  }

  static void measure_head(RunContext& ctx, const Collected& data, const HeadVectors& head, double c,
                           const std::string& tsne_mode, Tables& t, std::int64_t li, std::int64_t hi) {
    const Tokens& tokens = data.tokens;
    const Transform tr = transform_for(head, c);
    const at::Tensor q = tr.queries(head), k = tr.keys(head);
    const at::Tensor before = joint(head.q, head.k), after = joint(q, k);

    *t.scale.at(li, hi) = c;
    put(tr.key_shift, t.key_shift.at(li, hi));
    const auto raw_patterns = patterns_from(tokens, head.q, head.k, data.score_scale);
    *t.pattern_change.at(li, hi) =
        max_abs_difference(patterns_from(tokens, q, k, data.score_scale), raw_patterns);
    *t.reproduction.at(li, hi) = max_abs_difference(raw_patterns, head.pattern);
    *t.query_norm.at(li, hi) = q.norm(2, 1).mean().item<double>();
    *t.key_norm.at(li, hi) = k.norm(2, 1).mean().item<double>();
    *t.query_norm_before.at(li, hi) = head.q.norm(2, 1).mean().item<double>();
    *t.key_norm_before.at(li, hi) = head.k.norm(2, 1).mean().item<double>();

    TsneOptions options;
    options.perplexity = ctx.params.get<double>("tsne_perplexity");
    options.iterations = static_cast<int>(ctx.params.get<std::int64_t>("tsne_iterations"));
    options.seed = static_cast<std::uint64_t>(ctx.params.get<std::int64_t>("seed"));

    const at::Tensor dots = pair_dots(tokens, head.q, head.k);
    const at::Tensor weights = ctx.params.get<bool>("weighted") ? pair_weights(tokens, head) : at::Tensor();
    auto measure = [&](const at::Tensor& points, bool with_tsne, HeadTable& pca2, HeadTable& pca3, HeadTable& tsne_table,
                       HeadTable& corr, HeadTable& hits) {
      std::vector<at::Tensor> spaces = {points, pca(points, 2), pca(points, 3), at::Tensor()};
      if (with_tsne) spaces[kTsne] = tsne(points, options);
      put(spaces[kPca2], pca2.at(li, hi));
      put(spaces[kPca3], pca3.at(li, hi));
      if (with_tsne) put(spaces[kTsne], tsne_table.at(li, hi));
      for (std::size_t s = 0; s < spaces.size(); ++s) {
        if (!spaces[s].defined()) continue;
        corr.at(li, hi)[s] = correlation(dots, pair_distances(tokens, spaces[s]), weights);
        hits.at(li, hi)[s] = nearest_key_is_top(tokens, head, spaces[s]);
      }
    };
    measure(before, tsne_mode == "both", t.pca2_before, t.pca3_before, t.tsne_before, t.corr_before, t.hits_before);
    measure(after, tsne_mode != "none", t.pca2_after, t.pca3_after, t.tsne_after, t.corr_after, t.hits_after);
  }

  static void write_labels(RunContext& ctx, const Collected& data, const std::vector<int>& layers,
                           const std::vector<int>& heads) {
    const Tokens& tk = data.tokens;
    const std::int64_t n = tk.size();
    write_tensor(ctx.results, "layer", at::tensor(std::vector<std::int64_t>(layers.begin(), layers.end())), {"layer"});
    write_tensor(ctx.results, "head", at::tensor(std::vector<std::int64_t>(heads.begin(), heads.end())), {"head"});
    ctx.results.write_strings("space", kSpaces, "space");
    write_tensor(ctx.results, "token_input", at::tensor(tk.input), {"token"});
    write_tensor(ctx.results, "token_position", at::tensor(tk.position), {"token"});
    write_tensor(ctx.results, "token_id", at::tensor(tk.id), {"token"});
    ctx.results.write_strings("token_text", tk.text, "token");
    std::vector<std::string> kind(n, "query");
    kind.resize(2 * n, "key");
    ctx.results.write_strings("point_kind", kind, "point");
    write_tensor(ctx.results, "point_token", at::arange(2 * n, at::kLong).remainder(n), {"point"});
  }

  static void store_vectors(RunContext& ctx, const Collected& data, const Tables& t, std::int64_t nl, std::int64_t nh,
                            std::int64_t d) {
    std::vector<at::Tensor> qb, kb, qa, ka;
    for (std::int64_t li = 0; li < nl; ++li)
      for (std::int64_t hi = 0; hi < nh; ++hi) {
        const HeadVectors& h = data.heads[li * nh + hi];
        const double c = *t.scale.at(li, hi);
        qb.push_back(h.q), kb.push_back(h.k);
        if (std::isnan(c)) {  // layer not done yet
          qa.push_back(at::full_like(h.q, std::nan(""))), ka.push_back(at::full_like(h.k, std::nan("")));
          continue;
        }
        const Transform tr{c, at::from_blob(const_cast<double*>(t.key_shift.at(li, hi)), {d}, at::kDouble).clone()};
        qa.push_back(tr.queries(h)), ka.push_back(tr.keys(h));
      }
    const std::int64_t n = data.tokens.size();
    const std::vector<std::string> dims = {"layer", "head", "token", "d_head"};
    write_tensor(ctx.results, "queries_before", at::stack(qb).view({nl, nh, n, d}), dims);
    write_tensor(ctx.results, "keys_before", at::stack(kb).view({nl, nh, n, d}), dims);
    write_tensor(ctx.results, "queries", at::stack(qa).view({nl, nh, n, d}), dims);
    write_tensor(ctx.results, "keys", at::stack(ka).view({nl, nh, n, d}), dims);
  }

  // Each collected head carries its own layer and head index.
  static std::vector<std::vector<Edge>> write_edges(RunContext& ctx, const Collected& data) {
    const int per_query = static_cast<int>(ctx.params.get<std::int64_t>("edges_per_query"));
    const double min_weight = ctx.params.get<double>("edge_min_weight");
    const std::int64_t n = data.tokens.size();
    std::vector<std::int64_t> layer, head, from, to;
    std::vector<double> weight;
    std::vector<std::vector<Edge>> per_head;
    for (const HeadVectors& h : data.heads) {
      per_head.push_back(top_edges(data.tokens, h, per_query, min_weight));
      for (const Edge& e : per_head.back()) {
        layer.push_back(h.layer), head.push_back(h.head), from.push_back(e.query), to.push_back(n + e.key);
        weight.push_back(e.weight);
      }
    }
    write_tensor(ctx.results, "edge_layer", at::tensor(layer, at::kLong), {"edge"});
    write_tensor(ctx.results, "edge_head", at::tensor(head, at::kLong), {"edge"});
    write_tensor(ctx.results, "edge_query_point", at::tensor(from, at::kLong), {"edge"});
    write_tensor(ctx.results, "edge_key_point", at::tensor(to, at::kLong), {"edge"});
    write_tensor(ctx.results, "edge_weight", at::tensor(weight, at::kDouble), {"edge"});
    return per_head;
  }

  static void set_attrs(RunContext& ctx, const Collected& data) {
    ctx.results.set_attr("query_hook", data.q_hook);
    ctx.results.set_attr("key_hook", data.k_hook);
    ctx.results.set_attr("score_scale", data.score_scale);
    ctx.results.set_attr("scale_method", ctx.params.get<std::string>("scale"));
    ctx.results.set_attr("distance_space", ctx.params.get<std::string>("distance"));
    ctx.results.set_attr("normalise_over", ctx.params.get<std::string>("normalise_over"));
    ctx.results.set_attr("weighted", static_cast<std::int64_t>(ctx.params.get<bool>("weighted")));
    ctx.results.set_attr("transform", std::string("queries' = scale * q; keys' = k / scale + key_shift"));
  }

  static std::string percent(double v) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(0) << 100.0 * v << "%";
    return s.str();
  }

  // What a person reads first: the checks and whether distance now stands for attention.
  static void report(RunContext& ctx, Tables& t, const std::vector<int>& layers, const std::vector<int>& heads) {
    double worst_change = 0.0, worst_reproduction = 0.0, hit_before = 0.0, hit_after = 0.0;
    double corr_before = 0.0, corr_after = 0.0;
    const std::size_t count = layers.size() * heads.size();
    std::vector<std::string> per_head;
    for (std::size_t li = 0; li < layers.size(); ++li)
      for (std::size_t hi = 0; hi < heads.size(); ++hi) {
        worst_change = std::max(worst_change, *t.pattern_change.at(li, hi));
        worst_reproduction = std::max(worst_reproduction, *t.reproduction.at(li, hi));
        const double hb = t.hits_before.at(li, hi)[kPca2], ha = t.hits_after.at(li, hi)[kPca2];
        const double cb = t.corr_before.at(li, hi)[kFull], ca = t.corr_after.at(li, hi)[kFull];
        hit_before += hb / count, hit_after += ha / count, corr_before += cb / count, corr_after += ca / count;
        std::ostringstream line;
        line << std::setprecision(3) << "layer " << layers[li] << " head " << heads[hi] << ": c = "
             << *t.scale.at(li, hi) << "; nearest key (2-D PCA) is the most-attended key for " << percent(ha)
             << " of queries (" << percent(hb) << " before normalisation); corr(q.k, distance) " << cb << " -> " << ca;
        per_head.push_back(line.str());
      }
    std::ostringstream summary;
    summary << std::setprecision(3) << "attention patterns kept: max |delta pattern| = " << worst_change
            << " over " << count << " heads (patterns from the " << "collected q, k match the model's to "
            << worst_reproduction << ")";
    ctx.findings.push_back(summary.str());
    if (count <= 4) {
      for (auto& line : per_head) ctx.findings.push_back(line);
    } else {
      std::ostringstream mean;
      mean << std::setprecision(3) << "mean over heads: nearest key (2-D PCA) is the most-attended key for "
           << percent(hit_after) << " of queries (" << percent(hit_before) << " before normalisation); corr(q.k, "
           << "distance) " << corr_before << " -> " << corr_after;
      ctx.findings.push_back(mean.str());
    }
  }

  static void draw_all(RunContext& ctx, const Collected& data, Tables& t, const std::vector<std::vector<Edge>>& edges,
                       const std::vector<int>& layers, const std::vector<int>& heads) {
    const auto limit = static_cast<std::size_t>(ctx.params.get<std::int64_t>("figure_heads"));
    const auto labels = point_labels(data.tokens, ctx.params.get<std::vector<std::string>>("label_tokens"));
    std::size_t drawn = 0;
    for (std::size_t li = 0; li < layers.size(); ++li)
      for (std::size_t hi = 0; hi < heads.size() && drawn < limit; ++hi, ++drawn) {
        const std::size_t index = li * heads.size() + hi;
        const HeadVectors& head = data.heads[index];
        const std::string tag = "L" + std::to_string(head.layer) + "_H" + std::to_string(head.head);
        const std::string who = "layer " + std::to_string(head.layer) + " head " + std::to_string(head.head);
        const std::int64_t points = 2 * data.tokens.size();
        auto scatter = [&](const std::string& name, const std::string& title, const HeadTable& table) {
          if (std::isnan(table.at(li, hi)[0])) return;
          ctx.figures.scatter(joint_scatter(name + "_" + tag, title + ", " + who, table.at(li, hi), points,
                                            edges[index], labels));
        };
        scatter("pca2_after", "2-D PCA after normalisation", t.pca2_after);
        scatter("pca2_before", "2-D PCA before normalisation", t.pca2_before);
        scatter("tsne_after", "t-SNE after normalisation", t.tsne_after);
        scatter("tsne_before", "t-SNE before normalisation", t.tsne_before);
        const Transform tr = transform_for(head, *t.scale.at(li, hi));
        ctx.figures.scatter(dot_vs_distance("dot_vs_distance_" + tag, who, data.tokens, head, tr));
      }
  }
};

}  // namespace

MECHLENS_PLUGIN(AttentionViz)
