// Visual token ablation (seed 004; Neo et al., arXiv 2410.07149): chosen
// image rows of the language model's input (hook_inputs_embeds) are replaced
// by one mean vector (over every image token of the reference inputs,
// computed once and stored), by the input's own mean image row, or by zero,
// and the answer is read again. Sets: object tokens (+ buffer), the rest of
// the image, as many random patch tokens, high-norm "register" tokens
// (mechlens/token_sets.hpp); and an N sweep of object, random and register.
//
// One input = one clean forward plus one forward carrying every distinct
// ablated set as a batch row (the vision tower and everything before
// hook_inputs_embeds run once, at batch 1), in chunks of `batch_rows`.
#include <ATen/ATen.h>

#include <cmath>
#include <sstream>

#include "conditions.hpp"
#include "mechlens/answer_check.hpp"
#include "mechlens/archive_view.hpp"
#include "mechlens/plugin.hpp"
#include "mechlens/run_context.hpp"
#include "mechlens/tensor_store.hpp"
#include "mechlens/token_sets.hpp"

namespace {

using namespace mechlens;
using visual_token_ablation::Plan;
using visual_token_ablation::PlanRequest;

const char* const kWhere = "visual_token_ablation";

// The language model's input rows of one input ([T, d_model]) and its clean answer logits.
struct Clean {
  at::Tensor embeds;
  at::Tensor logits;  // [vocab]
};

Clean clean_run(const Model& model, const EncodedInput& input) {
  HookSet hooks;
  auto embeds = std::make_shared<at::Tensor>();
  hooks.add_read("hook_inputs_embeds", [embeds](const std::string&, const at::Tensor& x) { *embeds = x.detach(); });
  const Batch batch = model.make_batch({&input});
  const at::Tensor logits = model.forward(batch, &hooks, at::tensor({input.answer_position}, at::kLong));
  if (!embeds->defined())
    fail(kWhere, "the " + model.family() + " adapter has no hook point hook_inputs_embeds: nothing to ablate");
  return {(*embeds)[0], logits[0][0]};
}

std::vector<std::int64_t> image_positions(const EncodedInput& input) {
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < input.annotations.size(); ++i)
    if (input.annotations[i].modality == Modality::image) out.push_back(static_cast<std::int64_t>(i));
  return out;
}

template <typename T>
std::vector<T> flat(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

class VisualTokenAblation : public Analysis {
 public:
  static PluginInfo describe() {
    return {kWhere, "1.0.0",
            "Replace visual rows of the language model's input (object, random, register, ...) by a mean and read "
            "the answer again (seed 004)",
            {
                param::string_list("sets", {"object", "object+1", "object+2", "image_minus_object+1", "random", "register"},
                                   "Token sets ablated whole (mechlens/token_sets.hpp: object[+B], image, "
                                   "image_minus_object[+B], random[+B] = as many patch tokens as object[+B] from "
                                   "outside it, register = norm > mean + 2 sigma, last, last_image_row, text, positions)"),
                param::string_list("sweep_sets", {"object", "random", "register"},
                                   "Sets ablated with N tokens for each N of `n` (object: a seeded random N of the "
                                   "object tokens; random: N patch tokens off the object; register: the N "
                                   "highest-norm patch tokens), capped at what the input has"),
                param::integer_list("n", {5, 10, 20, 40, 60, 100, 250}, "The N of the sweep"),
                param::integer("draws", 3, "Random draws per random set (deterministic sets give the same row "
                                           "every draw)").at_least(1).at_most(100),
                param::string("replacement", "mean",
                              "mean: one vector, the mean of every image token row over the reference inputs "
                              "(stored as mean_vector); input_mean: the input's own mean image row; zero")
                    .choices({"mean", "input_mean", "zero"}),
                param::string("reference_tag", "",
                              "Inputs with this tag only make the mean (not analysed), e.g. an image folder of "
                              "held-out images tagged \"reference\"; empty: the mean over every input"),
                param::integer("seed", 0, "Seed of the random sets").at_least(0),
                param::integer("batch_rows", 16, "Ablated rows per forward").at_least(1).at_most(4096),
            }};
  }

  void run(RunContext& ctx) override {
    read_params(ctx);
    const Model& model = ctx.model;
    const auto N = static_cast<std::int64_t>(ctx.inputs.size());
    const std::string& tag = ctx.params.get<std::string>("reference_tag");
    std::vector<bool> analysed(N, true), reference(N, true);
    if (!tag.empty()) {
      for (std::int64_t i = 0; i < N; ++i) {
        const auto& tags = ctx.inputs[i].spec.tags;
        reference[i] = std::find(tags.begin(), tags.end(), tag) != tags.end();
        analysed[i] = !reference[i];
      }
      // (A shard may hold none: its mean comes from the whole recipe, checked there.)
      if (!ctx.recipe_inputs && std::find(reference.begin(), reference.end(), true) == reference.end())
        fail(std::string(kWhere) + ": reference_tag", "no input has the tag '" + tag + "'");
    }
    at::NoGradGuard no_grad;
    const at::Tensor mean = replacement_ == "mean" ? reference_mean(ctx, reference) : at::Tensor();

    const auto S = static_cast<std::int64_t>(request_.sets.size()), W = static_cast<std::int64_t>(request_.sweep_sets.size()),
               K = static_cast<std::int64_t>(request_.n.size()), D = static_cast<std::int64_t>(request_.draws);
    const auto f64 = at::TensorOptions().dtype(at::kDouble);
    Metrics sets(at::full({N, S, D}, NAN, f64)), sweep(at::full({N, W, K, D}, NAN, f64));
    at::Tensor clean_correct = at::full({N}, NAN, f64), clean_top_prob = at::full({N}, NAN, f64);
    std::vector<std::string> expected_token(N), clean_top(N);

    for (std::int64_t i = 0; i < N; ++i) {
      ctx.progress.update(kWhere, i, N);
      if (!analysed[i]) continue;
      const EncodedInput& input = ctx.inputs[i];
      const Clean clean = clean_run(model, input);
      const AnswerTarget target = answer_target(model, input, clean.logits);
      clean_correct[i] = target.clean_correct ? 1.0 : 0.0;
      clean_top_prob[i] = target.clean_top_prob;
      expected_token[i] = target.expected_token;
      clean_top[i] = model.token_string(target.clean_top);

      PlanRequest request = request_;
      request.input_norms = flat<float>(clean.embeds.to(at::kFloat).norm(2, -1).cpu());
      const Plan plan = visual_token_ablation::plan_conditions(input, request);
      const at::Tensor replacement = replacement_for(input, clean.embeds, mean);
      const std::vector<AnswerChange> changes = ablate(model, input, plan, replacement, target);
      for (std::int64_t c = 0; c < S * D; ++c) sets.set(i, c, changes[plan.set_row[c]], plan.set_size[c]);
      for (std::int64_t c = 0; c < W * K * D; ++c) sweep.set(i, c, changes[plan.sweep_row[c]], plan.sweep_size[c]);
    }
    ctx.progress.update(kWhere, N, N);
    write(ctx, sets, sweep, clean_correct, clean_top_prob, expected_token, clean_top, analysed, mean);
  }

 private:
  // Per condition: top_prob_change, correct, expected_prob_drop, n_ablated.
  struct Metrics {
    explicit Metrics(const at::Tensor& shape_like)
        : change(shape_like.clone()), correct(shape_like.clone()), drop(shape_like.clone()), size(shape_like.clone()) {}
    void set(std::int64_t input, std::int64_t flat_condition, const AnswerChange& a, std::int64_t n) {
      auto at = [&](at::Tensor& t) { return t[input].view({-1})[flat_condition]; };
      at(change).fill_(a.top_prob_change);
      at(correct).fill_(a.correct ? 1.0 : 0.0);
      at(drop).fill_(a.expected_prob_drop);
      at(size).fill_(static_cast<double>(n));
    }
    at::Tensor change, correct, drop, size;
  };

  void read_params(const RunContext& ctx) {
    request_.sets = ctx.params.get<std::vector<std::string>>("sets");
    request_.sweep_sets = ctx.params.get<std::vector<std::string>>("sweep_sets");
    request_.n = ctx.params.get<std::vector<std::int64_t>>("n");
    request_.draws = static_cast<int>(ctx.params.get<std::int64_t>("draws"));
    request_.seed = static_cast<std::uint64_t>(ctx.params.get<std::int64_t>("seed"));
    replacement_ = ctx.params.get<std::string>("replacement");
    batch_rows_ = ctx.params.get<std::int64_t>("batch_rows");
    for (const auto& s : request_.sets) check_token_set_spec(s, std::string(kWhere) + ": sets");
    for (const auto& s : request_.sweep_sets) {
      check_token_set_spec(s, std::string(kWhere) + ": sweep_sets");
      if (!token_set_takes_count(s))
        fail(std::string(kWhere) + ": sweep_sets", "'" + s + "' takes no N (only object, random and register do)");
    }
    for (std::int64_t n : request_.n)
      if (n < 1) fail(std::string(kWhere) + ": n", "every N must be at least 1, not " + std::to_string(n));
    if (request_.sets.empty() && request_.sweep_sets.empty()) fail(kWhere, "sets and sweep_sets are both empty");
  }

  // The mean of every image token row of the reference inputs ([d_model], float32).
  // A shard (RunContext::recipe_inputs) takes the mean over the reference
  // inputs of the whole recipe, so that every shard replaces by the same mean.
  static at::Tensor reference_mean(RunContext& ctx, const std::vector<bool>& run_reference) {
    const std::vector<EncodedInput>& inputs = ctx.recipe_inputs ? *ctx.recipe_inputs : ctx.inputs;
    std::vector<bool> reference = run_reference;
    if (ctx.recipe_inputs) {
      const std::string& tag = ctx.params.get<std::string>("reference_tag");
      reference.assign(inputs.size(), true);
      for (std::size_t i = 0; i < inputs.size() && !tag.empty(); ++i) {
        const auto& tags = inputs[i].spec.tags;
        reference[i] = std::find(tags.begin(), tags.end(), tag) != tags.end();
      }
    }
    at::Tensor sum;
    std::int64_t count = 0, images = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!reference[i]) continue;
      const std::vector<std::int64_t> positions = image_positions(inputs[i]);
      if (positions.empty()) continue;
      const Clean clean = clean_run(ctx.model, inputs[i]);
      const at::Tensor rows = clean.embeds.index_select(0, at::tensor(positions, at::kLong).to(clean.embeds.device()));
      const at::Tensor s = rows.to(at::kDouble).sum(0);
      sum = sum.defined() ? sum + s : s;
      count += static_cast<std::int64_t>(positions.size());
      ++images;
    }
    if (count == 0) fail(kWhere, "replacement = \"mean\": the reference inputs have no image tokens");
    ctx.results.set_attr("mean_over_tokens", count);
    ctx.results.set_attr("mean_over_inputs", images);
    return (sum / static_cast<double>(count)).to(at::kFloat);
  }

  at::Tensor replacement_for(const EncodedInput& input, const at::Tensor& embeds, const at::Tensor& mean) const {
    if (replacement_ == "mean") return mean.to(embeds.options());
    if (replacement_ == "zero") return at::zeros({embeds.size(-1)}, embeds.options());
    const std::vector<std::int64_t> positions = image_positions(input);
    if (positions.empty()) fail(kWhere, "input '" + input.spec.id + "' has no image tokens");
    return embeds.index_select(0, at::tensor(positions, at::kLong).to(embeds.device())).to(at::kDouble).mean(0).to(embeds.options());
  }

  // One change per plan row; rows in chunks, each chunk one forward.
  std::vector<AnswerChange> ablate(const Model& model, const EncodedInput& input, const Plan& plan,
                                   const at::Tensor& replacement, const AnswerTarget& target) const {
    const Batch batch = model.make_batch({&input});
    const at::Tensor answer = at::tensor({input.answer_position}, at::kLong);
    std::vector<AnswerChange> out;
    const auto R = static_cast<std::int64_t>(plan.rows.size());
    for (std::int64_t start = 0; start < R; start += batch_rows_) {
      const std::int64_t end = std::min(R, start + batch_rows_);
      HookSet hooks;
      hooks.add_write("hook_inputs_embeds", [&, start, end](const std::string&, const at::Tensor& x) {
        std::vector<std::int64_t> shape = x.sizes().vec();
        shape[0] = end - start;
        at::Tensor rows = x.expand(shape).contiguous();
        for (std::int64_t r = start; r < end; ++r)
          if (!plan.rows[r].empty())
            rows[r - start].index_put_({at::tensor(plan.rows[r], at::kLong).to(rows.device())}, replacement);
        return rows;
      });
      const at::Tensor logits = model.forward(batch, &hooks, answer);  // [rows, 1, vocab]
      for (std::int64_t r = 0; r < end - start; ++r) out.push_back(answer_change(target, logits[r][0]));
    }
    return out;
  }

  void write(RunContext& ctx, const Metrics& sets, const Metrics& sweep, const at::Tensor& clean_correct,
             const at::Tensor& clean_top_prob, const std::vector<std::string>& expected_token,
             const std::vector<std::string>& clean_top, const std::vector<bool>& analysed, const at::Tensor& mean) const {
    ResultGroup& out = ctx.results;
    out.write_strings("set", request_.sets, "set");
    out.write_strings("sweep_set", request_.sweep_sets, "sweep_set");
    write_tensor(out, "n", at::tensor(request_.n, at::kLong), {"n"});
    write_tensor(out, "draw", at::arange(request_.draws, at::kLong), {"draw"});
    write_tensor(out, "analysed", at::tensor(std::vector<std::int64_t>(analysed.begin(), analysed.end()), at::kLong), {"input"});
    write_tensor(out, "clean_correct", clean_correct, {"input"});
    write_tensor(out, "clean_top_prob", clean_top_prob, {"input"});
    out.write_strings("clean_top_token", clean_top, "input");
    out.write_strings("expected_token", expected_token, "input");
    const std::vector<std::string> d3 = {"input", "set", "draw"}, d4 = {"input", "sweep_set", "n", "draw"};
    write_tensor(out, "top_prob_change", sets.change, d3);
    write_tensor(out, "correct", sets.correct, d3);
    write_tensor(out, "expected_prob_drop", sets.drop, d3);
    write_tensor(out, "n_ablated", sets.size, d3);
    write_tensor(out, "sweep_top_prob_change", sweep.change, d4);
    write_tensor(out, "sweep_correct", sweep.correct, d4);
    write_tensor(out, "sweep_expected_prob_drop", sweep.drop, d4);
    write_tensor(out, "sweep_n_ablated", sweep.size, d4);
    if (mean.defined()) write_tensor(out, "mean_vector", mean, {"d_model"});
    out.set_attr("replacement", replacement_);

    const at::Tensor analysed_flags = at::tensor(std::vector<std::int64_t>(analysed.begin(), analysed.end()), at::kLong);
    const Summary summary = write_aggregates(out, ctx.findings, request_.sets, analysed_flags, clean_correct, sets, sweep);
    draw(ctx, summary.clean_accuracy, summary.accuracy, summary.sweep_accuracy);
  }

  struct Summary {
    double clean_accuracy;
    at::Tensor accuracy, sweep_accuracy;
  };

  // Aggregates over analysed inputs and draws, and the finding. Also run by
  // `mechlens merge` over the merged shards (merge_rules).
  static Summary write_aggregates(ResultGroup& out, std::vector<std::string>& findings,
                                  const std::vector<std::string>& set_names, const at::Tensor& analysed,
                                  const at::Tensor& clean_correct, const Metrics& sets, const Metrics& sweep) {
    const at::Tensor keep = analysed.nonzero().flatten();
    const double clean_accuracy = clean_correct.index_select(0, keep).mean().item<double>();
    const at::Tensor accuracy = sets.correct.index_select(0, keep).mean(at::IntArrayRef{0, 2});
    const at::Tensor mean_change = sets.change.index_select(0, keep).mean(at::IntArrayRef{0, 2});
    const at::Tensor mean_drop = sets.drop.index_select(0, keep).mean(at::IntArrayRef{0, 2});
    const at::Tensor sweep_accuracy = sweep.correct.index_select(0, keep).mean(at::IntArrayRef{0, 3});
    out.set_attr("clean_accuracy", clean_accuracy);
    write_tensor(out, "accuracy", accuracy, {"set"});
    write_tensor(out, "mean_top_prob_change", mean_change, {"set"});
    write_tensor(out, "mean_expected_prob_drop", mean_drop, {"set"});
    write_tensor(out, "mean_n_ablated", sets.size.index_select(0, keep).mean(at::IntArrayRef{0, 2}), {"set"});
    write_tensor(out, "sweep_accuracy", sweep_accuracy, {"sweep_set", "n"});
    write_tensor(out, "sweep_mean_top_prob_change", sweep.change.index_select(0, keep).mean(at::IntArrayRef{0, 3}), {"sweep_set", "n"});

    std::ostringstream line;
    line << "clean accuracy " << clean_accuracy << "; ablated:";
    for (std::size_t s = 0; s < set_names.size(); ++s)
      line << (s ? "," : "") << " " << set_names[s] << " " << accuracy[static_cast<std::int64_t>(s)].item<double>();
    findings.push_back(line.str());
    return {clean_accuracy, accuracy, sweep_accuracy};
  }

 public:
  // Shards (mechlens merge): the [input, ...] datasets concatenate (the
  // default); set, sweep_set, n, draw, mean_vector (the reference mean is
  // taken over the whole recipe in every shard) are the same in every shard;
  // the aggregates over analysed inputs are computed again by the run's code.
  static MergeRules merge_rules(const ParamValues&) {
    MergeRules rules;
    for (const char* name : {"accuracy", "mean_top_prob_change", "mean_expected_prob_drop", "mean_n_ablated",
                             "sweep_accuracy", "sweep_mean_top_prob_change"})
      rules.datasets.push_back({name, Combine::recompute});
    rules.attributes = {{"clean_accuracy", Combine::recompute}};
    rules.summarise = &summarise_merged;
    return rules;
  }

 private:
  static at::Tensor tensor_of(const GroupView& group, const std::string& name) {
    const ArrayView a = group.f64(name);
    return at::tensor(a.values, at::kDouble).view(a.shape);
  }

  static void summarise_merged(const GroupView& merged, ResultGroup& out, std::vector<std::string>& findings) {
    Metrics sets(tensor_of(merged, "correct")), sweep(tensor_of(merged, "sweep_correct"));
    sets.change = tensor_of(merged, "top_prob_change"), sets.drop = tensor_of(merged, "expected_prob_drop");
    sets.size = tensor_of(merged, "n_ablated");
    sweep.change = tensor_of(merged, "sweep_top_prob_change"), sweep.drop = tensor_of(merged, "sweep_expected_prob_drop");
    sweep.size = tensor_of(merged, "sweep_n_ablated");
    write_aggregates(out, findings, merged.strings("set"), tensor_of(merged, "analysed").to(at::kLong),
                     tensor_of(merged, "clean_correct"), sets, sweep);
  }

  void draw(RunContext& ctx, double clean_accuracy, const at::Tensor& accuracy, const at::Tensor& sweep_accuracy) const {
    if (!request_.sets.empty()) {
      HeatmapFigure map;
      map.name = "accuracy_by_set";
      map.title = "accuracy with the set ablated (clean " + std::to_string(clean_accuracy).substr(0, 5) + ")";
      map.rows = 1, map.cols = static_cast<int>(request_.sets.size());
      map.values = flat<double>(accuracy);
      map.row_label = "", map.col_label = "ablated set";
      map.row_names = {replacement_};
      map.col_names = request_.sets;
      for (double v : map.values) map.cell_text.push_back(std::to_string(v).substr(0, 4));
      map.range = std::array<double, 2>{0.0, 1.0};
      ctx.figures.heatmap(map);
    }
    if (!request_.sweep_sets.empty()) {
      LineFigure line;
      line.name = "accuracy_vs_n";
      line.title = "accuracy vs number of ablated tokens";
      line.x_label = "N ablated";
      line.y_label = "accuracy";
      for (std::int64_t n : request_.n) line.x.push_back(static_cast<double>(n));
      for (std::size_t s = 0; s < request_.sweep_sets.size(); ++s)
        line.series.push_back({request_.sweep_sets[s], flat<double>(sweep_accuracy[static_cast<std::int64_t>(s)])});
      line.series.push_back({"clean", std::vector<double>(request_.n.size(), clean_accuracy)});
      ctx.figures.lines(line);
    }
  }

  PlanRequest request_;
  std::string replacement_;
  std::int64_t batch_rows_ = 16;
};

}  // namespace

MECHLENS_PLUGIN(VisualTokenAblation)
