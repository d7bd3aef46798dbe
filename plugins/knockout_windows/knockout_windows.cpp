// Attention knockout over layer windows (seed 004; Neo et al., arXiv
// 2410.07149, after Geva et al.'s knockout): in every head of the layers of a
// window, the attention edges from a key token set to a query token set are
// blocked before the softmax (mechlens::add_attention_knockout: exactly zero
// weight, on every path), and the answer is read again. The seed's four edge
// sets are the default: object(+0/1/2) -> last, image_minus_object+1 -> last,
// object+1 -> last_image_row, image -> last_image_row.
//
// One input = one clean forward that keeps the residual entering every layer,
// then per window one forward from the window's first layer (nothing before
// it is recomputed) carrying every edge set as a batch row, `batch_rows` at a time.
#include <ATen/ATen.h>

#include <cmath>
#include <sstream>

#include "mechlens/answer_check.hpp"
#include "mechlens/archive_view.hpp"
#include "mechlens/interventions.hpp"
#include "mechlens/plugin.hpp"
#include "mechlens/run_context.hpp"
#include "mechlens/tensor_store.hpp"
#include "mechlens/token_sets.hpp"
#include "windows.hpp"

namespace {

using namespace mechlens;
using knockout_windows::EdgeSet;
using knockout_windows::Window;

const char* const kWhere = "knockout_windows";

template <typename T>
std::vector<T> flat(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

class KnockoutWindows : public Analysis {
 public:
  static PluginInfo describe() {
    return {kWhere, "1.0.0",
            "Block attention edges (key set -> query set) in windows of layers and read the answer again (seed 004)",
            {
                param::string_list("windows", {"seed", "all"},
                                   "Layer windows: \"first-last\" (inclusive), \"all\", \"seed\" (the seed's 0-9, "
                                   "5-14, 11-20, 15-24, 21-31 of 32 layers, scaled to the model)"),
                param::integer("width", 0, "With stride: also every window of this many layers (0 = none)").at_least(0),
                param::integer("stride", 1, "Step between the starts of width-windows").at_least(1),
                param::string_list("edge_sets",
                                   {"object->last", "object+1->last", "object+2->last", "image_minus_object+1->last",
                                    "object+1->last_image_row", "image->last_image_row"},
                                   "Edges to block, \"KEYS->QUERIES\" (the query tokens may not attend to the key "
                                   "tokens), each a token set (mechlens/token_sets.hpp)"),
                param::integer("seed", 0, "Seed of random token sets").at_least(0),
                param::integer("batch_rows", 8, "Edge sets per forward").at_least(1).at_most(4096),
            }};
  }

  void run(RunContext& ctx) override {
    const Model& model = ctx.model;
    const Geometry g = model.geometry();
    const std::vector<Window> windows =
        knockout_windows::parse_windows(ctx.params.get<std::vector<std::string>>("windows"),
                                        static_cast<int>(ctx.params.get<std::int64_t>("width")),
                                        static_cast<int>(ctx.params.get<std::int64_t>("stride")), g.n_layers);
    std::vector<EdgeSet> edges;
    for (const std::string& s : ctx.params.get<std::vector<std::string>>("edge_sets"))
      edges.push_back(knockout_windows::parse_edge_set(s));
    if (edges.empty()) fail(std::string(kWhere) + ": edge_sets", "is empty");
    const std::int64_t batch_rows = ctx.params.get<std::int64_t>("batch_rows");
    TokenSetOptions sets;
    sets.seed = static_cast<std::uint64_t>(ctx.params.get<std::int64_t>("seed"));

    const auto N = static_cast<std::int64_t>(ctx.inputs.size()), W = static_cast<std::int64_t>(windows.size()),
               E = static_cast<std::int64_t>(edges.size());
    const auto f64 = at::TensorOptions().dtype(at::kDouble);
    at::Tensor change = at::full({N, W, E}, NAN, f64), correct = change.clone(), drop = change.clone();
    at::Tensor n_keys = at::zeros({N, E}, at::kLong), n_queries = at::zeros({N, E}, at::kLong);
    at::Tensor clean_correct = at::full({N}, NAN, f64), clean_top_prob = at::full({N}, NAN, f64);
    std::vector<std::string> clean_top(N), expected_token(N);
    at::NoGradGuard no_grad;

    for (std::int64_t i = 0; i < N; ++i) {
      ctx.progress.update(kWhere, i, N);
      const EncodedInput& input = ctx.inputs[i];
      const Batch batch = model.make_batch({&input});
      const at::Tensor answer = at::tensor({input.answer_position}, at::kLong);
      const CleanRun clean = capture_resid_pre(model, batch, answer);
      const AnswerTarget target = answer_target(model, input, clean.logits[0][0]);
      clean_correct[i] = target.clean_correct ? 1.0 : 0.0;
      clean_top_prob[i] = target.clean_top_prob;
      clean_top[i] = model.token_string(target.clean_top);
      expected_token[i] = target.expected_token;

      std::vector<std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>>> edge_positions;
      for (std::int64_t e = 0; e < E; ++e) {
        const std::string where = std::string(kWhere) + ": edge set '" + edges[e].label + "'";
        auto keys = token_set(input, edges[e].keys, sets, where), queries = token_set(input, edges[e].queries, sets, where);
        n_keys[i][e] = static_cast<std::int64_t>(keys.size());
        n_queries[i][e] = static_cast<std::int64_t>(queries.size());
        edge_positions.emplace_back(std::move(queries), std::move(keys));
      }
      for (std::int64_t w = 0; w < W; ++w)
        for (std::int64_t start = 0; start < E; start += batch_rows) {
          const std::int64_t end = std::min(E, start + batch_rows);
          std::vector<std::optional<KnockoutRow>> rows;
          for (std::int64_t e = start; e < end; ++e)
            rows.push_back(KnockoutRow{windows[w].first, windows[w].last, edge_positions[e].first, edge_positions[e].second});
          HookSet hooks;
          add_attention_knockout(hooks, g, rows);
          // Batch 1 up to the window; the first knocked-out layer expands to the rows.
          at::Tensor logits = model.forward_from(windows[w].first, clean.resid_pre[windows[w].first], batch, &hooks, answer);
          if (logits.size(0) == 1 && end - start > 1) logits = logits.expand({end - start, logits.size(1), logits.size(2)});
          for (std::int64_t e = start; e < end; ++e) {
            const AnswerChange c = answer_change(target, logits[e - start][0]);
            change[i][w][e] = c.top_prob_change;
            correct[i][w][e] = c.correct ? 1.0 : 0.0;
            drop[i][w][e] = c.expected_prob_drop;
          }
        }
    }
    ctx.progress.update(kWhere, N, N);

    ResultGroup& out = ctx.results;
    std::vector<std::string> window_labels, edge_labels;
    std::vector<std::int64_t> firsts, lasts;
    for (const Window& w : windows) window_labels.push_back(w.label), firsts.push_back(w.first), lasts.push_back(w.last);
    for (const EdgeSet& e : edges) edge_labels.push_back(e.label);
    out.write_strings("window", window_labels, "window");
    write_tensor(out, "window_first_layer", at::tensor(firsts, at::kLong), {"window"});
    write_tensor(out, "window_last_layer", at::tensor(lasts, at::kLong), {"window"});
    out.write_strings("edge_set", edge_labels, "edge_set");
    write_tensor(out, "clean_correct", clean_correct, {"input"});
    write_tensor(out, "clean_top_prob", clean_top_prob, {"input"});
    out.write_strings("clean_top_token", clean_top, "input");
    out.write_strings("expected_token", expected_token, "input");
    write_tensor(out, "n_keys", n_keys, {"input", "edge_set"});
    write_tensor(out, "n_queries", n_queries, {"input", "edge_set"});
    const std::vector<std::string> dims = {"input", "window", "edge_set"};
    write_tensor(out, "top_prob_change", change, dims);
    write_tensor(out, "correct", correct, dims);
    write_tensor(out, "expected_prob_drop", drop, dims);

    const at::Tensor accuracy_drop =
        write_aggregates(out, ctx.findings, clean_correct, correct, change, drop, window_labels, edge_labels);
    draw(ctx, window_labels, edge_labels, accuracy_drop);
  }

  // Shards (mechlens merge): the [input, ...] datasets concatenate (the
  // default), window and edge_set coordinates are the same in every shard,
  // and the aggregates over inputs are computed again by the run's code.
  static MergeRules merge_rules(const ParamValues&) {
    MergeRules rules;
    for (const char* name : {"accuracy", "accuracy_drop", "mean_top_prob_change", "mean_expected_prob_drop"})
      rules.datasets.push_back({name, Combine::recompute});
    rules.attributes = {{"clean_accuracy", Combine::recompute}};
    rules.summarise = &summarise_merged;
    return rules;
  }

 private:
  // The aggregates over inputs and the finding; returns accuracy_drop [window, edge_set].
  static at::Tensor write_aggregates(ResultGroup& out, std::vector<std::string>& findings, const at::Tensor& clean_correct,
                                     const at::Tensor& correct, const at::Tensor& change, const at::Tensor& drop,
                                     const std::vector<std::string>& window_labels,
                                     const std::vector<std::string>& edge_labels) {
    const double clean_accuracy = clean_correct.mean().item<double>();
    const at::Tensor accuracy = correct.mean(0), accuracy_drop = clean_accuracy - accuracy;
    out.set_attr("clean_accuracy", clean_accuracy);
    write_tensor(out, "accuracy", accuracy, {"window", "edge_set"});
    write_tensor(out, "accuracy_drop", accuracy_drop, {"window", "edge_set"});
    write_tensor(out, "mean_top_prob_change", change.mean(0), {"window", "edge_set"});
    write_tensor(out, "mean_expected_prob_drop", drop.mean(0), {"window", "edge_set"});
    finding(findings, window_labels, edge_labels, accuracy_drop, clean_accuracy);
    return accuracy_drop;
  }

  static at::Tensor tensor_of(const GroupView& group, const std::string& name) {
    const ArrayView a = group.f64(name);
    return at::tensor(a.values, at::kDouble).view(a.shape);
  }

  static void summarise_merged(const GroupView& merged, ResultGroup& out, std::vector<std::string>& findings) {
    write_aggregates(out, findings, tensor_of(merged, "clean_correct"), tensor_of(merged, "correct"),
                     tensor_of(merged, "top_prob_change"), tensor_of(merged, "expected_prob_drop"),
                     merged.strings("window"), merged.strings("edge_set"));
  }

  static void draw(RunContext& ctx, const std::vector<std::string>& windows, const std::vector<std::string>& edges,
                   const at::Tensor& accuracy_drop) {
    HeatmapFigure map;
    map.name = "accuracy_drop";
    map.title = "accuracy drop with the edges blocked in the window";
    map.rows = static_cast<int>(windows.size()), map.cols = static_cast<int>(edges.size());
    map.values = flat<double>(accuracy_drop);
    map.row_label = "layer window", map.col_label = "blocked edges (keys->queries)";
    map.row_names = windows, map.col_names = edges;
    for (double v : map.values) map.cell_text.push_back(std::to_string(v).substr(0, v < 0 ? 5 : 4));
    ctx.figures.heatmap(map);

    LineFigure line;
    line.name = "accuracy_drop_by_window";
    line.title = "accuracy drop per window";
    line.x_label = "layer window";
    line.y_label = "accuracy drop";
    for (std::size_t w = 0; w < windows.size(); ++w) line.x.push_back(static_cast<double>(w));
    line.x_names = windows;
    for (std::size_t e = 0; e < edges.size(); ++e)
      line.series.push_back({edges[e], flat<double>(accuracy_drop.select(1, static_cast<std::int64_t>(e)))});
    ctx.figures.lines(line);
  }

  static void finding(std::vector<std::string>& findings, const std::vector<std::string>& windows,
                      const std::vector<std::string>& edges, const at::Tensor& accuracy_drop, double clean_accuracy) {
    const std::int64_t best = accuracy_drop.nan_to_num(-2.0).flatten().argmax().item<std::int64_t>();
    const auto E = static_cast<std::int64_t>(edges.size());
    std::ostringstream line;
    line << "largest accuracy drop: " << edges[best % E] << " in layers " << windows[best / E] << " ("
         << accuracy_drop.flatten()[best].item<double>() << " from clean " << clean_accuracy << ")";
    findings.push_back(line.str());
  }
};

}  // namespace

MECHLENS_PLUGIN(KnockoutWindows)
