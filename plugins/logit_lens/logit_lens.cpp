// Logit lens (nostalgebraist; seed 003, and seed 004 on visual tokens):
// decode the residual stream entering every layer, and the stream after the
// last one, with the model's own final norm and unembedding, and read off
// which tokens each layer already "says", where the answer ranks, and how far
// each layer's distribution is from the final one.
//
// `final_norm = false` decodes the raw residual with the unembedding alone,
// as the seed's code did (its ranks are not a normalised lens). The
// normalised entry after the last layer is the model's own output: nothing
// is normalised twice.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "lens_figures.hpp"
#include "lens_readout.hpp"
#include "logit_lens.hpp"
#include "mechlens/archive_view.hpp"
#include "mechlens/plugin.hpp"
#include "mechlens/positions.hpp"
#include "mechlens/run_context.hpp"
#include "mechlens/tensor_store.hpp"

namespace {

using namespace mechlens;
using logit_lens::InputLens;

class LogitLens : public Analysis {
 public:
  static PluginInfo describe() {
    return {"logit_lens", "1.0.0",
            "Decode every layer's residual stream with the unembedding: top tokens, rank of the answer, KL to the output",
            {
                param::string_list("positions", {"answer"},
                                   "Positions to decode: answer (the adapter's answer position: BERT's [MASK], a "
                                   "decoder's last token), last, all, image (every visual token), text, special, or an "
                                   "index as a string (\"-1\" counts from the end)"),
                param::boolean("final_norm", true,
                               "Apply the model's final norm before the unembedding (the normalised lens); false "
                               "decodes the raw residual x W_U as the seed's code did (BERT: the decoder without its "
                               "MLM transform)"),
                param::integer("k", 5, "Top tokens kept per layer entry and position").at_least(1).at_most(100),
                param::string_list("track", {},
                                   "Words whose probability is kept at every position and layer entry (tokenised "
                                   "without special tokens; the first token of each is tracked)"),
                param::integer("chunk", 64,
                               "Positions decoded at once: memory holds chunk x vocabulary logits, never "
                               "layers x positions x vocabulary")
                    .at_least(1),
            }};
  }

  void run(RunContext& ctx) override {
    const Geometry g = ctx.model.geometry();
    const auto& specs = ctx.params.get<std::vector<std::string>>("positions");
    check_position_specs(specs, "logit_lens: positions");
    const int k = static_cast<int>(std::min<std::int64_t>(ctx.params.get<std::int64_t>("k"), g.vocab_size));
    const std::vector<std::string>& track_words = ctx.params.get<std::vector<std::string>>("track");
    const std::vector<std::int64_t> tracked = tracked_ids(ctx, track_words);

    std::vector<InputLens> lenses;
    for (std::size_t i = 0; i < ctx.inputs.size(); ++i) {
      ctx.progress.update("logit_lens", static_cast<std::int64_t>(i), static_cast<std::int64_t>(ctx.inputs.size()));
      lenses.push_back(lens(ctx, ctx.inputs[i], specs, k, tracked));
    }
    write(ctx, lenses, g, k, track_words, tracked);
    logit_lens::draw(ctx, lenses);
    summarise(ctx, lenses);
  }

  // Its section of `mechlens report`, from the archive alone (lens_report.cpp).
  static void report(const GroupView& group, ReportPage& page) { logit_lens::report_section(group, page); }

 private:
  static std::vector<std::int64_t> tracked_ids(RunContext& ctx, const std::vector<std::string>& words) {
    std::vector<std::int64_t> ids;
    for (const auto& w : words) {
      const EncodedInput e = ctx.model.encode_raw(w);
      if (e.ids.empty()) fail("logit_lens: track", "'" + w + "' has no tokens");
      if (e.ids.size() > 1)
        ctx.log.warn("logit_lens: '" + w + "' is " + std::to_string(e.ids.size()) + " tokens; tracking the first, '" +
                     ctx.model.token_string(e.ids[0]) + "'");
      ids.push_back(e.ids[0]);
    }
    return ids;
  }

  // The target: the input's expected answer (its first token), else the
  // model's own top token at the answer position.
  static void choose_target(RunContext& ctx, const EncodedInput& input, const at::Tensor& answer_logits,
                            InputLens& out) {
    if (!input.spec.expected.empty()) {
      const EncodedInput e = ctx.model.encode_raw(input.spec.expected);
      if (e.ids.empty()) fail("logit_lens: input '" + input.spec.id + "'", "expected answer has no tokens");
      if (e.ids.size() > 1)
        ctx.log.warn("logit_lens: input '" + input.spec.id + "': expected '" + input.spec.expected + "' is " +
                     std::to_string(e.ids.size()) + " tokens; the target is its first, '" +
                     ctx.model.token_string(e.ids[0]) + "'");
      out.target = e.ids[0];
      out.target_source = "expected";
    } else {
      out.target = answer_logits.argmax().item<std::int64_t>();
      out.target_source = "model";
    }
  }

  static InputLens lens(RunContext& ctx, const EncodedInput& input, const std::vector<std::string>& specs, int k,
                        const std::vector<std::int64_t>& tracked) {
    const Model& model = ctx.model;
    const int n_layers = model.geometry().n_layers;
    const bool normalise = ctx.params.get<bool>("final_norm");
    const auto chunk = ctx.params.get<std::int64_t>("chunk");
    InputLens out;
    out.positions = select_positions(input, specs, "logit_lens: positions");
    const auto P = static_cast<std::int64_t>(out.positions.size());
    const auto answer = std::find(out.positions.begin(), out.positions.end(), input.answer_position);
    if (answer != out.positions.end()) out.answer_slot = answer - out.positions.begin();

    // The residual entering each layer and after the last, at the chosen
    // positions only: [E, P, d_model].
    const Batch single = model.make_batch({&input});
    const at::Tensor pos = at::tensor(out.positions, at::kLong);
    std::vector<at::Tensor> entries;
    at::Tensor x = model.embed(single, nullptr);
    entries.push_back(gather_positions(x, pos)[0]);
    for (int l = 0; l < n_layers; ++l) {
      x = model.run_blocks(std::move(x), single, l, l + 1, nullptr);
      entries.push_back(gather_positions(x, pos)[0]);
    }
    const at::Tensor answer_logits =
        input.answer_position >= 0 ? model.unembed(x[0][input.answer_position], nullptr) : at::Tensor();
    x.reset();
    choose_target(ctx, input, answer_logits, out);

    const auto E = static_cast<std::int64_t>(entries.size());
    const auto T = static_cast<std::int64_t>(tracked.size());
    const auto f64 = at::TensorOptions().dtype(at::kDouble);
    out.topk_id = at::empty({E, P, k}, at::kLong);
    out.topk_prob = at::empty({E, P, k}, f64);
    out.target_rank = at::empty({E, P}, at::kLong);
    out.target_prob = at::empty({E, P}, f64);
    out.target_logit = at::empty({E, P}, f64);
    out.kl_from_final = at::empty({E, P}, f64);
    out.entropy = at::empty({E, P}, f64);
    out.tracked_prob = at::empty({E, P, T}, f64);
    for (std::int64_t start = 0; start < P; start += chunk) {
      const std::int64_t n = std::min(chunk, P - start);
      // The model's own output at these positions: the normalised last entry.
      const at::Tensor final_log_probs =
          at::log_softmax(model.unembed(entries.back().narrow(0, start, n), nullptr).to(at::kDouble), -1);
      for (std::int64_t e = 0; e < E; ++e) {
        const at::Tensor resid = entries[e].narrow(0, start, n);
        const at::Tensor logits = normalise ? model.unembed(resid, nullptr) : model.unembed_unnormalized(resid);
        const logit_lens::Readout r = logit_lens::read_out(logits.cpu(), final_log_probs.cpu(), out.target, k, tracked);
        out.topk_id[e].narrow(0, start, n).copy_(r.topk_id);
        out.topk_prob[e].narrow(0, start, n).copy_(r.topk_prob);
        out.target_rank[e].narrow(0, start, n).copy_(r.target_rank);
        out.target_prob[e].narrow(0, start, n).copy_(r.target_prob);
        out.target_logit[e].narrow(0, start, n).copy_(r.target_logit);
        out.kl_from_final[e].narrow(0, start, n).copy_(r.kl_from_final);
        out.entropy[e].narrow(0, start, n).copy_(r.entropy);
        out.tracked_prob[e].narrow(0, start, n).copy_(r.tracked_prob);
      }
    }
    return out;
  }

  // Inputs have different numbers of positions: the `pos` axis is padded to
  // the longest (position -1, NaN values, rank -1, empty strings).
  static void write(RunContext& ctx, const std::vector<InputLens>& lenses, const Geometry& g, int k,
                    const std::vector<std::string>& track_words, const std::vector<std::int64_t>& tracked) {
    const auto N = static_cast<std::int64_t>(lenses.size());
    const std::int64_t E = g.n_layers + 1;
    std::int64_t P = 1;
    for (const auto& l : lenses) P = std::max<std::int64_t>(P, l.positions.size());
    const auto T = static_cast<std::int64_t>(tracked.size());
    const auto f64 = at::TensorOptions().dtype(at::kDouble);
    at::Tensor position = at::full({N, P}, -1, at::kLong);
    at::Tensor topk_id = at::full({N, E, P, k}, -1, at::kLong);
    at::Tensor topk_prob = at::full({N, E, P, k}, NAN, f64);
    at::Tensor rank = at::full({N, E, P}, -1, at::kLong);
    // target_prob, target_logit, kl_from_final, entropy: [input, layer_entry, pos] each.
    std::vector<at::Tensor> per_pos(4);
    for (auto& t : per_pos) t = at::full({N, E, P}, NAN, f64);
    at::Tensor tracked_prob = at::full({N, E, P, T}, NAN, f64);
    std::vector<std::string> token(static_cast<std::size_t>(N * P)), modality(token.size());
    std::vector<std::string> topk_token(static_cast<std::size_t>(N * E * P * k));
    std::vector<std::int64_t> target(N);
    std::vector<std::string> target_token(N), target_source(N);
    for (std::int64_t i = 0; i < N; ++i) {
      const InputLens& l = lenses[i];
      const EncodedInput& input = ctx.inputs[i];
      const auto n = static_cast<std::int64_t>(l.positions.size());
      position[i].narrow(0, 0, n).copy_(at::tensor(l.positions, at::kLong));
      topk_id[i].narrow(1, 0, n).copy_(l.topk_id);
      topk_prob[i].narrow(1, 0, n).copy_(l.topk_prob);
      rank[i].narrow(1, 0, n).copy_(l.target_rank);
      const at::Tensor values[] = {l.target_prob, l.target_logit, l.kl_from_final, l.entropy};
      for (std::size_t v = 0; v < per_pos.size(); ++v) per_pos[v][i].narrow(1, 0, n).copy_(values[v]);
      tracked_prob[i].narrow(1, 0, n).copy_(l.tracked_prob);
      for (std::int64_t p = 0; p < n; ++p) {
        const auto at = static_cast<std::size_t>(l.positions[p]);
        token[i * P + p] = input.tokens.at(at);
        modality[i * P + p] = to_string(input.annotations.at(at).modality);
      }
      const auto* ids = l.topk_id.data_ptr<std::int64_t>();
      for (std::int64_t e = 0; e < E; ++e)
        for (std::int64_t p = 0; p < n; ++p)
          for (int j = 0; j < k; ++j)
            topk_token[((i * E + e) * P + p) * k + j] = ctx.model.token_string(ids[(e * n + p) * k + j]);
      target[i] = l.target;
      target_token[i] = ctx.model.token_string(l.target);
      target_source[i] = l.target_source;
    }

    ResultGroup& out = ctx.results;
    write_tensor(out, "layer_entry", at::arange(E, at::kLong), {"layer_entry"});
    write_tensor(out, "k", at::arange(k, at::kLong), {"k"});
    write_tensor(out, "position", position, {"input", "pos"});
    out.write_strings("token", token, {N, P}, {"input", "pos"});
    out.write_strings("modality", modality, {N, P}, {"input", "pos"});
    write_tensor(out, "topk_id", topk_id, {"input", "layer_entry", "pos", "k"});
    out.write_strings("topk_token", topk_token, {N, E, P, k}, {"input", "layer_entry", "pos", "k"});
    write_tensor(out, "topk_prob", topk_prob, {"input", "layer_entry", "pos", "k"});
    write_tensor(out, "target_rank", rank, {"input", "layer_entry", "pos"});
    write_tensor(out, "target_prob", per_pos[0], {"input", "layer_entry", "pos"});
    write_tensor(out, "target_logit", per_pos[1], {"input", "layer_entry", "pos"});
    write_tensor(out, "kl_from_final", per_pos[2], {"input", "layer_entry", "pos"});
    write_tensor(out, "entropy", per_pos[3], {"input", "layer_entry", "pos"});
    write_tensor(out, "target_id", at::tensor(target, at::kLong), {"input"});
    out.write_strings("target_token", target_token, "input");
    out.write_strings("target_source", target_source, "input");
    if (T > 0) {
      out.write_strings("tracked", track_words, "tracked");
      write_tensor(out, "tracked_id", at::tensor(tracked, at::kLong), {"tracked"});
      write_tensor(out, "tracked_prob", tracked_prob, {"input", "layer_entry", "pos", "tracked"});
    }
    out.set_attr("final_norm", static_cast<std::int64_t>(ctx.params.get<bool>("final_norm")));
    out.set_attr("layer_entry_meaning",
                 std::string("entry e < n_layers: the residual entering layer e (entry 0 = the embeddings); entry "
                             "n_layers: the stream after the last layer"));
    write_grids(ctx, lenses, T);
  }

  // Visual tokens as maps per crop, [layer_entry, row, col] (seed 004's coarse
  // segmentation): one subgroup per input and crop, from the token annotations.
  static void write_grids(RunContext& ctx, const std::vector<InputLens>& lenses, std::int64_t T) {
    for (std::size_t i = 0; i < lenses.size(); ++i) {
      const InputLens& l = lenses[i];
      const EncodedInput& input = ctx.inputs[i];
      const std::vector<logit_lens::CropGrid> grids = logit_lens::crop_grids(input, l.positions);
      if (grids.empty()) continue;
      // grids/<input id>/crop_<n>; the '/' of an image folder's ids nests, as inputs/by_id does.
      std::unique_ptr<ResultGroup> per_input = ctx.results.group("grids");
      for (std::size_t start = 0;;) {
        const std::size_t slash = input.spec.id.find('/', start);
        per_input = per_input->group(input.spec.id.substr(start, slash == std::string::npos ? slash : slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
      }
      const auto E = l.topk_id.size(0);
      for (const auto& grid : grids) {
        auto g = per_input->group("crop_" + std::to_string(grid.crop));
        const at::Tensor slot = at::tensor(grid.slot, at::kLong).view({grid.rows, grid.cols});
        const at::Tensor safe = slot.clamp_min(0).flatten();
        const at::Tensor missing = (slot < 0).unsqueeze(0);
        at::Tensor top1_id = l.topk_id.select(2, 0).index_select(1, safe).view({E, grid.rows, grid.cols});
        at::Tensor top1_prob = l.topk_prob.select(2, 0).index_select(1, safe).view({E, grid.rows, grid.cols});
        top1_id = top1_id.masked_fill(missing, -1);
        top1_prob = top1_prob.masked_fill(missing, NAN);
        std::vector<std::string> top1_token(static_cast<std::size_t>(top1_id.numel()));
        const auto* ids = top1_id.contiguous().data_ptr<std::int64_t>();
        for (std::size_t c = 0; c < top1_token.size(); ++c)
          if (ids[c] >= 0) top1_token[c] = ctx.model.token_string(ids[c]);
        std::vector<std::int64_t> position(grid.slot.size(), -1);
        for (std::size_t c = 0; c < grid.slot.size(); ++c)
          if (grid.slot[c] >= 0) position[c] = l.positions[grid.slot[c]];
        write_tensor(*g, "position", at::tensor(position, at::kLong).view({grid.rows, grid.cols}), {"row", "col"});
        write_tensor(*g, "separator", at::tensor(grid.separator, at::kLong).view({grid.rows, grid.cols}).to(at::kByte),
                     {"row", "col"});
        write_tensor(*g, "top1_id", top1_id, {"layer_entry", "row", "col"});
        write_tensor(*g, "top1_prob", top1_prob, {"layer_entry", "row", "col"});
        g->write_strings("top1_token", top1_token, {E, grid.rows, grid.cols}, {"layer_entry", "row", "col"});
        if (T > 0) {
          at::Tensor tracked = l.tracked_prob.index_select(1, safe).view({E, grid.rows, grid.cols, T}).permute({0, 3, 1, 2});
          tracked = tracked.masked_fill(missing.unsqueeze(1), NAN);
          write_tensor(*g, "tracked_prob", tracked, {"layer_entry", "tracked", "row", "col"});
        }
      }
    }
  }

  // What the summary needs of one input (from its lens in a run, from the
  // merged archive in `mechlens merge`).
  struct Summary {
    std::string id, target, source;
    std::vector<std::int64_t> answer_ranks;  // per layer entry; empty: the answer is not among the positions
    std::vector<std::pair<std::int64_t, std::string>> last_top1;  // id and token, per decoded position
  };

  static void summarise(RunContext& ctx, const std::vector<InputLens>& lenses) {
    std::vector<Summary> inputs;
    for (std::size_t i = 0; i < lenses.size(); ++i) {
      const InputLens& l = lenses[i];
      Summary s{ctx.inputs[i].spec.id, ctx.model.token_string(l.target), l.target_source, {}, {}};
      const at::Tensor top1 = l.topk_id[l.topk_id.size(0) - 1].select(1, 0);
      for (std::int64_t p = 0; p < top1.size(0); ++p) {
        const std::int64_t id = top1[p].item<std::int64_t>();
        s.last_top1.emplace_back(id, ctx.model.token_string(id));
      }
      if (l.answer_slot >= 0) {
        const at::Tensor ranks = l.target_rank.select(1, l.answer_slot);
        for (std::int64_t e = 0; e < ranks.size(0); ++e) s.answer_ranks.push_back(ranks[e].item<std::int64_t>());
      }
      inputs.push_back(std::move(s));
    }
    summarise(ctx.results, ctx.findings, inputs);
  }

  // Where the target first becomes the top token at the answer, per input;
  // without the answer among the positions, what the last entry says most.
  static void summarise(ResultGroup& results, std::vector<std::string>& findings, const std::vector<Summary>& inputs) {
    double sum = 0;
    int found = 0, answered = 0;
    std::map<std::int64_t, int> last_top1;
    std::map<std::int64_t, std::string> token_of;
    std::int64_t decoded = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const Summary& l = inputs[i];
      for (const auto& [id, token] : l.last_top1) ++last_top1[id], ++decoded, token_of[id] = token;
      if (l.answer_ranks.empty()) continue;
      ++answered;
      const std::vector<std::int64_t>& ranks = l.answer_ranks;
      std::int64_t first = -1;
      for (std::size_t e = 0; e < ranks.size() && first < 0; ++e)
        if (ranks[e] == 1) first = static_cast<std::int64_t>(e);
      if (first >= 0) sum += static_cast<double>(first), ++found;
      if (i < 5) {
        std::ostringstream line;
        line << "input " << l.id << ": target '" << l.target << "' (" << l.source << ") at the answer ranks "
             << ranks[0] << " at layer entry 0, "
             << (first >= 0 ? "first ranks 1 at layer entry " + std::to_string(first) : std::string("never ranks 1"));
        findings.push_back(line.str());
      }
    }
    if (found > 0) {
      results.set_attr("mean_first_top1_entry", sum / found);
      std::ostringstream line;
      line << "the target first ranks 1 at the answer at layer entry " << sum / found << " on average (" << found
           << " of " << answered << " inputs reach rank 1)";
      findings.push_back(line.str());
    }
    if (answered == 0 && !last_top1.empty()) {
      const auto most = std::max_element(last_top1.begin(), last_top1.end(),
                                         [](const auto& a, const auto& b) { return a.second < b.second; });
      std::ostringstream line;
      line << "after the last layer the most frequent top-1 token at the " << decoded << " decoded positions is '"
           << token_of[most->first] << "' (" << most->second << " positions)";
      findings.push_back(line.str());
    }
  }

 public:
  // Shards (mechlens merge): the [input, ...] datasets concatenate with
  // their `pos` axis padded to the longest input as a run pads it (-1, NaN,
  // ""); coordinates, tracked tokens and settings are the same in every
  // shard; grids/<input id> are per input; the summary is made again.
  static MergeRules merge_rules(const ParamValues&) {
    MergeRules rules;
    rules.attributes = {{"mean_first_top1_entry", Combine::recompute}};
    rules.summarise = &summarise_merged;
    return rules;
  }

 private:
  static void summarise_merged(const GroupView& merged, ResultGroup& out, std::vector<std::string>& findings) {
    const std::vector<std::string> ids = merged.strings("input"), targets = merged.strings("target_token"),
                                   sources = merged.strings("target_source"), tokens = merged.strings("topk_token");
    const ArrayView position = merged.f64("position"), rank = merged.f64("target_rank"), topk = merged.f64("topk_id");
    const ArrayView answer = merged.group("../../inputs")->f64("answer_position");
    const std::int64_t P = position.size(1), E = rank.size(1), K = topk.size(3);
    std::vector<Summary> inputs;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto n = static_cast<std::int64_t>(i);
      Summary s{ids[i], targets[i], sources[i], {}, {}};
      std::int64_t slot = -1;
      for (std::int64_t p = 0; p < P; ++p) {
        const double pos = position.values[n * P + p];
        if (pos < 0) continue;  // padding
        if (slot < 0 && pos == answer.values[i]) slot = p;
        const std::int64_t at = ((n * E + (E - 1)) * P + p) * K;
        s.last_top1.emplace_back(static_cast<std::int64_t>(topk.values[at]), tokens[at]);
      }
      if (slot >= 0)
        for (std::int64_t e = 0; e < E; ++e)
          s.answer_ranks.push_back(static_cast<std::int64_t>(rank.values[(n * E + e) * P + slot]));
      inputs.push_back(std::move(s));
    }
    summarise(out, findings, inputs);
  }
};

}  // namespace

MECHLENS_PLUGIN(LogitLens)
