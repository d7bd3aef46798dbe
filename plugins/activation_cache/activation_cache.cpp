// run_with_cache (TransformerLens): one clean forward per input, storing the
// logits and the named hook points into the archive, for chosen layers and
// positions. Hook names may be globs ("blocks.*.attn.hook_pattern").
// Axis names come from the model's own declaration of each hook point. The
// language model's batch axis (one input per forward) is dropped and its
// positions (pos, or the query axis q_pos of a pattern) are filtered; a vision
// tower's hooks keep every crop and every patch.
#include <ATen/ATen.h>

#include <algorithm>
#include <map>
#include <set>

#include "mechlens/plugin.hpp"
#include "mechlens/run_context.hpp"
#include "mechlens/tensor_store.hpp"

namespace {

using namespace mechlens;

class ActivationCache : public Analysis {
 public:
  static PluginInfo describe() {
    return {"activation_cache", "1.0.0",
            "Store logits and named hook points of a clean forward (TransformerLens run_with_cache)",
            {
                param::string_list("hooks", {"blocks.*.hook_resid_post"},
                                   "Hook point names or globs, e.g. blocks.*.attn.hook_pattern"),
                param::integer_list("layers", {}, "Keep only these layers' hook points (empty = all)"),
                param::integer_list("positions", {},
                                    "Query positions to keep (negative counts from the end; empty = all)"),
                param::boolean("logits", true, "Also store the logits at those positions"),
            }};
  }

  void run(RunContext& ctx) override {
    const std::vector<std::string> names = selected_hooks(ctx);
    std::map<std::string, std::vector<std::string>> axes;
    for (const HookPoint& p : ctx.model.hook_points()) axes[p.name] = p.dims;
    if (names.empty()) fail("activation_cache", "no hook point of this model matches 'hooks' and 'layers'");
    for (std::size_t i = 0; i < ctx.inputs.size(); ++i) {
      const EncodedInput& input = ctx.inputs[i];
      const std::string unit = input.spec.id;
      ctx.progress.update("activation_cache", static_cast<std::int64_t>(i), static_cast<std::int64_t>(ctx.inputs.size()));
      if (ctx.results.unit_done(unit)) continue;

      HookSet hooks;
      for (const auto& n : names) hooks.cache(n);
      const Batch single = ctx.model.make_batch({&input});
      const at::Tensor positions = chosen_positions(ctx, input);
      const at::Tensor logits = ctx.model.forward(single, &hooks, positions);

      // What is stored, hook points in the model's (forward) order.
      std::vector<Stored> stored;
      std::int64_t keys = -1;
      bool queries = false;
      for (const auto& name : names) {
        const auto it = hooks.cached().find(name);
        if (it == hooks.cached().end()) continue;
        const at::Tensor& value = it->second;
        const std::vector<std::string>& dims = axes.at(name);
        if (dims.empty() || dims[0] != "batch") {
          stored.push_back({name, value, dims});  // vision tower: every crop
          continue;
        }
        at::Tensor t = value[0];  // one input per forward
        std::vector<std::string> kept(dims.begin() + 1, dims.end());
        for (std::size_t a = 0; a < kept.size(); ++a)
          if (kept[a] == "pos" || kept[a] == "q_pos") {
            t = t.index_select(static_cast<std::int64_t>(a), positions.to(t.device()));
            break;
          }
        for (std::size_t a = 0; a < kept.size(); ++a) {
          queries = queries || kept[a] == "q_pos";
          if (kept[a] == "k_pos") keys = t.size(static_cast<std::int64_t>(a));
        }
        stored.push_back({name, t, kept});
      }
      const bool with_logits = ctx.params.get<bool>("logits");
      refuse_non_finite(input, stored, with_logits ? logits[0] : at::Tensor());

      auto group = ctx.results.group(unit);
      // Token positions label the position axes (coordinates, results.md
      // §4.3): the rows kept are `positions`; a pattern's keys are every token.
      write_tensor(*group, "pos", positions, {"pos"});
      write_tensor(*group, "positions", positions, {"pos"});
      if (with_logits) write_tensor(*group, "logits", logits[0], {"pos", "vocab"});
      for (const Stored& s : stored) write_tensor(*group, s.name, s.value, s.dims);
      if (queries) write_tensor(*group, "q_pos", positions, {"q_pos"});
      if (keys >= 0) write_tensor(*group, "k_pos", at::arange(keys, at::kLong), {"k_pos"});
      ctx.results.mark_unit_done(unit);
    }
  }

 private:
  struct Stored {
    std::string name;
    at::Tensor value;
    std::vector<std::string> dims;
  };

  // Stored activations are measurements, so a NaN or Inf among them is
  // refused, naming the input, the first hook point (forward order) and its
  // layer; nothing of that input is written. The host checks the clean
  // forward's logits at the answer position only: a non-finite value at
  // another position, or in a hook point the answer does not depend on (say
  // a dtype overflow in masked attention scores), would otherwise be stored
  // as if it were a value. (Not a rule for every stored tensor: other
  // plugins' results use NaN for "not computed".)
  static void refuse_non_finite(const EncodedInput& input, const std::vector<Stored>& stored,
                                const at::Tensor& logits) {
    for (const Stored& s : stored) {
      if (finite(s.value)) continue;
      const std::string layer = layer_of(s.name);
      fail("activation_cache", "input '" + input.spec.id + "': hook point '" + s.name + "'" +
                                   (layer.empty() ? "" : " (" + layer + ")") + " holds " + what(s.value) +
                                   "; nothing was stored for this input");
    }
    if (!finite(logits))
      fail("activation_cache", "input '" + input.spec.id + "': the logits hold " + what(logits) +
                                   " at a stored position; nothing was stored for this input");
  }

  static bool finite(const at::Tensor& t) {
    return !t.defined() || !t.is_floating_point() || t.numel() == 0 || at::isfinite(t).all().item<bool>();
  }

  // "NaN (3 of 96 values)" / "Inf (...)": how many, so one stray value is told
  // from a tensor that is wholly broken.
  static std::string what(const at::Tensor& t) {
    const std::int64_t bad = at::logical_not(at::isfinite(t)).sum().item<std::int64_t>();
    return std::string(at::isnan(t).any().item<bool>() ? "NaN" : "Inf") + " (" + std::to_string(bad) + " of " +
           std::to_string(t.numel()) + " values)";
  }

  // "blocks.3.attn.hook_q" -> "layer 3"; "vision.blocks.0.hook_mlp_out" -> "vision layer 0".
  static std::string layer_of(const std::string& hook) {
    const std::string marker = "blocks.";
    const std::size_t at = hook.find(marker);
    if (at == std::string::npos) return "";
    const std::size_t start = at + marker.size();
    const std::size_t end = hook.find('.', start);
    return (hook.rfind("vision.", 0) == 0 ? "vision layer " : "layer ") +
           hook.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }

  static std::vector<std::string> selected_hooks(const RunContext& ctx) {
    const auto& patterns = ctx.params.get<std::vector<std::string>>("hooks");
    const auto& layers = ctx.params.get<std::vector<std::int64_t>>("layers");
    std::set<std::string> wanted_layers;
    for (auto l : layers) wanted_layers.insert("blocks." + std::to_string(l) + ".");
    const std::vector<std::string> names = ctx.model.hook_names();
    // A pattern that matches no hook point is a typo: name it (and the
    // closest hook point), rather than silently caching less.
    for (const auto& p : patterns) {
      bool any = false;
      for (const auto& name : names) any = any || hook_name_matches(p, name);
      if (!any)
        fail("activation_cache", "hooks: '" + p + "' matches no hook point of this model (did you mean '" +
                                     closest(p, names) + "'? `mechlens describe` lists the hook points)");
    }
    std::vector<std::string> out;
    for (const auto& name : names) {
      bool match = false;
      for (const auto& p : patterns) match = match || hook_name_matches(p, name);
      if (!match) continue;
      if (!wanted_layers.empty()) {
        bool in_layer = false;
        for (const auto& prefix : wanted_layers) in_layer = in_layer || name.rfind(prefix, 0) == 0;
        if (!in_layer) continue;
      }
      out.push_back(name);
    }
    return out;
  }

  // The name with the fewest single-character edits from `wanted`.
  static std::string closest(const std::string& wanted, const std::vector<std::string>& names) {
    std::string best;
    std::size_t best_cost = std::string::npos;
    for (const auto& name : names) {
      std::vector<std::size_t> row(name.size() + 1);
      for (std::size_t j = 0; j <= name.size(); ++j) row[j] = j;
      for (std::size_t i = 1; i <= wanted.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= name.size(); ++j) {
          const std::size_t up = row[j];
          row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (wanted[i - 1] == name[j - 1] ? 0 : 1)});
          diagonal = up;
        }
      }
      if (row.back() < best_cost) best_cost = row.back(), best = name;
    }
    return best;
  }

  static at::Tensor chosen_positions(const RunContext& ctx, const EncodedInput& input) {
    const auto length = static_cast<std::int64_t>(input.ids.size());
    const auto& wanted = ctx.params.get<std::vector<std::int64_t>>("positions");
    if (wanted.empty()) return at::arange(length, at::kLong);
    std::vector<std::int64_t> pos;
    for (auto p : wanted) {
      const std::int64_t q = p < 0 ? length + p : p;
      if (q < 0 || q >= length)
        fail("activation_cache", "position " + std::to_string(p) + " outside input '" + input.spec.id +
                                     "' of " + std::to_string(length) + " tokens");
      pos.push_back(q);
    }
    return at::tensor(pos, at::kLong);
  }
};

}  // namespace

MECHLENS_PLUGIN(ActivationCache)
