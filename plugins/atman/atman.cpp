// AtMan (Deiseroth et al., arXiv 2301.08110; seed 002): explain a prediction
// by suppressing one input token at a time in the attention scores of every
// layer and head (the framework's add_attention_suppression: the raw score
// row shifted by its minimum, then the token's key column multiplied by the
// factor) and measuring how the target's cross-entropy changes. No
// gradients: memory stays near one forward at max_batch rows.
//
// Sign, as the authors' code (`default_loss - loss`): score = clean −
// suppressed cross-entropy per target token, so suppressing a token the
// target needs gives a negative score. aggregate = "sum" keeps that sign;
// "squared_sum" (the authors' examples) sums the squares and hides it.
#include <ATen/ATen.h>

#include "explanation.hpp"
#include "mechlens/plugin.hpp"
#include "mechlens/run_context.hpp"
#include "output.hpp"

namespace {

using namespace mechlens;

class AtMan : public Analysis {
 public:
  // Shards (mechlens merge): the [input, ...] datasets concatenate with
  // `pos` and `target` padded to the longest as a run pads them (NaN, -1,
  // 0 for `explained`, ""); grids/<input id> are per input; the cost totals
  // are sums over inputs. The findings stay per shard.
  static MergeRules merge_rules(const ParamValues&) {
    MergeRules rules;
    rules.attributes = {{"forwards_total", Combine::sum}, {"forwards_no_reuse_total", Combine::sum},
                        {"forwards_prefix_reuse_total", Combine::sum}};
    return rules;
  }

  static PluginInfo describe() {
    return {"atman", "1.0.0",
            "AtMan: relevance of each input token (text and image) by suppressing it in every layer's attention "
            "scores and measuring the target's cross-entropy change",
            {
                param::real("factor", 0.1,
                            "Multiplier of the suppressed token's key column after the row-minimum shift (the "
                            "authors' default 0.1; 0 erases; > 1 amplifies)")
                    .at_least(0.0),
                param::boolean("conceptual", true,
                               "Correlated suppression: every token whose input embedding has cosine >= kappa with "
                               "the explained one is suppressed too, with factor + (1 - factor)(1 - cos)"),
                param::real("kappa", 0.6, "Cosine threshold of correlated suppression").at_least(-1.0),
                param::integer_list("layers", {}, "Layers whose attention is edited (empty = all)"),
                param::string("target", "auto",
                              "What is explained: expected (the input's expected text, teacher-forced, several "
                              "tokens allowed), model (the model's own greedy answer), auto (expected when given)")
                    .choices({"auto", "expected", "model"}),
                param::integer("answer_tokens", 1, "Tokens of the model's own answer explained (target = model)")
                    .at_least(1)
                    .at_most(64),
                param::string("explain", "all",
                              "Tokens explained: all (prompt and target except the target's last token, as the "
                              "authors' code), image (image patch tokens only), text (text tokens only)")
                    .choices({"all", "image", "text"}),
                param::string("aggregate", "sum",
                              "Relevance over target tokens: sum of (clean - suppressed) cross-entropy (the authors' "
                              "sign: negative = the token supports the target) or squared_sum")
                    .choices({"sum", "squared_sum"}),
                param::integer("max_batch", 8,
                               "Suppressions per forward (one batch row each); memory is one forward at this batch")
                    .at_least(1),
                param::boolean("prefix_reuse", true,
                               "Causal models: compute the clean forward's keys/values once and run each chunk of "
                               "suppressions only from its first suppressed key (queries before it cannot see it); "
                               "the same scores up to float rounding"),
                param::integer("figures", 8, "Inputs drawn (token strip; image maps per crop)").at_least(0),
            }};
  }

  void run(RunContext& ctx) override {
    atman::Settings s;
    s.factor = ctx.params.get<double>("factor");
    s.conceptual = ctx.params.get<bool>("conceptual");
    s.kappa = ctx.params.get<double>("kappa");
    for (std::int64_t l : ctx.params.get<std::vector<std::int64_t>>("layers")) s.layers.push_back(static_cast<int>(l));
    s.target = ctx.params.get<std::string>("target");
    s.answer_tokens = ctx.params.get<std::int64_t>("answer_tokens");
    s.explain = ctx.params.get<std::string>("explain");
    s.aggregate = ctx.params.get<std::string>("aggregate");
    s.max_batch = ctx.params.get<std::int64_t>("max_batch");
    s.prefix_reuse = ctx.params.get<bool>("prefix_reuse");
    const int n_layers = ctx.model.geometry().n_layers;
    for (int l : s.layers)
      if (l < 0 || l >= n_layers)
        fail("atman: layers", "layer " + std::to_string(l) + " outside the model's " + std::to_string(n_layers));

    std::vector<atman::Explanation> all;
    const auto n = static_cast<std::int64_t>(ctx.inputs.size());
    for (std::int64_t i = 0; i < n; ++i) {
      ctx.progress.update("atman", i, n);
      all.push_back(atman::explain(ctx, ctx.inputs[static_cast<std::size_t>(i)], s));
    }
    ctx.progress.update("atman", n, n);
    atman::write(ctx, all, s);
    atman::draw(ctx, all, ctx.params.get<std::int64_t>("figures"));
    atman::report(ctx, all, s);
  }
};

}  // namespace

MECHLENS_PLUGIN(AtMan)
