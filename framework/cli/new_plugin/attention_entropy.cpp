// attention_entropy: how focused is each attention head?
//
// For every input, one clean forward reads each layer's attention pattern
// (hook blocks.L.attn.hook_pattern) at one query position and stores the
// entropy of every head's distribution over the keys, in nats: 0 = the head
// looks at a single token, log(k) = it spreads evenly over the k tokens it
// sees. Then the input's most focused head is zeroed in a batched forward
// (row 0 clean, row 1 ablated) to see whether the answer depends on it.
//
// `mechlens new-plugin NAME` writes this file (renamed); the guide
// docs/writing-a-plugin.md walks through it line by line.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>

#include "mechlens/interventions.hpp"
#include "mechlens/plugin.hpp"
#include "mechlens/run_context.hpp"
#include "mechlens/tensor_store.hpp"

namespace {

using namespace mechlens;

class AttentionEntropy : public Analysis {
 public:
  // Declared once: the host validates recipes against these parameters,
  // fills in defaults, prints them (`mechlens describe`) and records them.
  static PluginInfo describe() {
    return {"attention_entropy", "0.1.0",
            "Entropy of each head's attention at one query position; zeroes the most focused head",
            {
                param::integer("query_position", -1,
                               "Query position whose attention is measured (negative counts from the end)"),
                param::boolean("ablate_focused", true,
                               "Zero each input's lowest-entropy head and record the answer's probability change"),
            }};
  }

  void run(RunContext& ctx) override {
    const Geometry g = ctx.model.geometry();
    const auto n_inputs = static_cast<std::int64_t>(ctx.inputs.size());
    const std::int64_t cells = static_cast<std::int64_t>(g.n_layers) * g.n_heads;

    // Coordinates: a 1-D dataset named like its only dim labels that axis
    // for every dataset of this group (HDF5 dimension scales, xarray coords).
    write_tensor(ctx.results, "layer", at::arange(g.n_layers, at::kLong), {"layer"});
    write_tensor(ctx.results, "head", at::arange(g.n_heads, at::kLong), {"head"});
    std::vector<std::string> ids;
    for (const EncodedInput& input : ctx.inputs) ids.push_back(input.spec.id);
    ctx.results.write_strings("input", ids, "input");

    // Resume: what an interrupted run finished comes back from the archive;
    // NaN marks what is still to do.
    std::vector<double> entropy = restore(ctx, "entropy", n_inputs * cells);
    std::vector<double> change = restore(ctx, "focused_head_prob_change", n_inputs);

    for (std::int64_t i = 0; i < n_inputs; ++i) {
      const EncodedInput& input = ctx.inputs[i];
      ctx.progress.update("attention_entropy", i, n_inputs);
      if (ctx.results.unit_done(input.spec.id)) continue;  // one unit = one input

      const at::Tensor h = head_entropy(ctx, input);  // [layer, head]
      std::copy(h.data_ptr<double>(), h.data_ptr<double>() + cells, entropy.begin() + i * cells);
      if (ctx.params.get<bool>("ablate_focused")) {
        const auto flat = static_cast<int>(h.flatten().argmin().item<std::int64_t>());
        change[i] = ablation_effect(ctx, input, {flat / g.n_heads, flat % g.n_heads});
      }

      // Every dataset of the unit is written, then the unit is marked done
      // (the store flushes there: a crash loses at most this input).
      ctx.results.write("entropy", {ElementType::f64, {n_inputs, g.n_layers, g.n_heads}, entropy.data()},
                        {"input", "layer", "head"});
      ctx.results.write("focused_head_prob_change", {ElementType::f64, {n_inputs}, change.data()}, {"input"});
      ctx.results.mark_unit_done(input.spec.id);
    }
    ctx.results.set_attr("units", std::string("nats"));
    report(ctx, entropy, change, g);
  }

 private:
  // One clean forward; a read hook per layer sees the attention pattern
  // [batch, head, q_pos, k_pos] as it is made and keeps only the entropy.
  static at::Tensor head_entropy(const RunContext& ctx, const EncodedInput& input) {
    const int n_layers = ctx.model.geometry().n_layers;
    const std::int64_t q = query_position(ctx, input);
    std::vector<at::Tensor> per_layer(n_layers);
    HookSet hooks;
    for (int l = 0; l < n_layers; ++l)
      hooks.add_read("blocks." + std::to_string(l) + ".attn.hook_pattern",
                     [&per_layer, l, q](const std::string&, const at::Tensor& pattern) {
                       const at::Tensor p = pattern[0].select(1, q).to(at::kDouble);  // [head, k_pos]
                       per_layer[l] = -at::xlogy(p, p).sum(-1);  // 0 log 0 = 0 (masked keys)
                     });
    ctx.model.forward(ctx.model.make_batch({&input}), &hooks, at::tensor({q}, at::kLong));
    return at::stack(per_layer).to(at::kCPU).contiguous();
  }

  // A batched intervention: row 0 runs clean, row 1 with `head` zeroed. The
  // forward starts with batch 1; the ablation hook expands it to 2 where it
  // acts, so the layers before it run once. Returns the change of the clean
  // top token's probability at the answer position.
  static double ablation_effect(const RunContext& ctx, const EncodedInput& input, LayerHead head) {
    HookSet hooks;
    add_head_ablations(hooks, ctx.model.geometry(), {std::nullopt, head}, HeadAblation::zero);
    const at::Tensor answer = at::tensor({input.answer_position}, at::kLong);
    const at::Tensor logits = ctx.model.forward(ctx.model.make_batch({&input}), &hooks, answer);  // [2, 1, vocab]
    const at::Tensor probs = at::softmax(logits.select(1, 0).to(at::kDouble), -1);
    const std::int64_t top = probs[0].argmax().item<std::int64_t>();
    return (probs[1][top] - probs[0][top]).item<double>();
  }

  static std::int64_t query_position(const RunContext& ctx, const EncodedInput& input) {
    const auto length = static_cast<std::int64_t>(input.ids.size());
    const std::int64_t wanted = ctx.params.get<std::int64_t>("query_position");
    const std::int64_t q = wanted < 0 ? length + wanted : wanted;
    if (q < 0 || q >= length)
      fail("attention_entropy", "query_position " + std::to_string(wanted) + " outside input '" + input.spec.id +
                                    "' of " + std::to_string(length) + " tokens");
    return q;
  }

  static std::vector<double> restore(const RunContext& ctx, const std::string& name, std::int64_t size) {
    if (ctx.results.has(name)) {
      std::vector<double> old = ctx.results.read_f64(name);
      if (static_cast<std::int64_t>(old.size()) == size) return old;
    }
    return std::vector<double>(size, std::nan(""));
  }

  // A heat map (layers x heads) of the mean entropy, and the line a person
  // reads first at the end of the run.
  static void report(RunContext& ctx, const std::vector<double>& entropy, const std::vector<double>& change,
                     const Geometry& g) {
    const std::size_t cells = static_cast<std::size_t>(g.n_layers) * g.n_heads;
    const std::size_t n = ctx.inputs.size();
    std::vector<double> mean(cells, 0.0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < cells; ++c) mean[c] += entropy[i * cells + c] / static_cast<double>(n);
    ctx.figures.heatmap("entropy_mean", "Attention entropy (nats), mean of " + std::to_string(n) + " inputs",
                        g.n_layers, g.n_heads, mean);

    const std::size_t best = std::min_element(mean.begin(), mean.end()) - mean.begin();
    std::ostringstream line;
    line << "most focused head: layer " << best / g.n_heads << " head " << best % g.n_heads << " (mean entropy "
         << mean[best] << " nats)";
    double sum = 0.0;
    int counted = 0;
    for (double c : change)
      if (!std::isnan(c)) sum += c, ++counted;
    if (counted)
      line << "; zeroing each input's most focused head changes p(answer) by " << sum / counted << " on average";
    ctx.findings.push_back(line.str());
  }
};

}  // namespace

MECHLENS_PLUGIN(AttentionEntropy)
