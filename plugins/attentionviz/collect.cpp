#include "collect.hpp"

#include <algorithm>
#include <cmath>

#include "mechlens/error.hpp"
#include "mechlens/hooks.hpp"

namespace attentionviz {

using mechlens::fail;

namespace {

const mechlens::HookPoint* find_point(const std::vector<mechlens::HookPoint>& points, const std::string& name) {
  for (const auto& p : points)
    if (p.name == name) return &p;
  return nullptr;
}

// Permutation that brings a hook's tensor into the axis order `want`,
// read from the axis names the adapter declares for that hook point.
std::vector<std::int64_t> axis_order(const mechlens::HookPoint& point, const std::vector<std::string>& want) {
  std::vector<std::int64_t> order;
  for (const auto& axis : want) {
    const auto it = std::find(point.dims.begin(), point.dims.end(), axis);
    if (it == point.dims.end())
      fail("attentionviz", "hook point " + point.name + " has no '" + axis + "' axis");
    order.push_back(it - point.dims.begin());
  }
  return order;
}

struct LayerHooks {
  std::string q, k, pattern;
  std::vector<std::int64_t> q_order, k_order, pattern_order;
};

}  // namespace

Collected collect(const mechlens::Model& model, const std::vector<mechlens::EncodedInput>& inputs,
                  const std::vector<int>& layers, const std::vector<int>& heads) {
  const mechlens::Geometry g = model.geometry();
  const std::vector<mechlens::HookPoint> points = model.hook_points();
  Collected out;
  // Rotary models: the vectors after rotary are the ones the scores use.
  const bool rotary = find_point(points, "blocks." + std::to_string(layers.front()) + ".attn.hook_rot_q") != nullptr;
  out.q_hook = rotary ? "attn.hook_rot_q" : "attn.hook_q";
  out.k_hook = rotary ? "attn.hook_rot_k" : "attn.hook_k";
  out.score_scale = 1.0 / std::sqrt(static_cast<double>(g.d_head));

  std::vector<LayerHooks> hooks_of;
  for (int layer : layers) {
    const std::string prefix = "blocks." + std::to_string(layer) + ".";
    LayerHooks h{prefix + out.q_hook, prefix + out.k_hook, prefix + "attn.hook_pattern", {}, {}, {}};
    const auto* q = find_point(points, h.q);
    const auto* k = find_point(points, h.k);
    const auto* p = find_point(points, h.pattern);
    if (!q || !k || !p) fail("attentionviz", "the model has no hook point " + (!q ? h.q : !k ? h.k : h.pattern));
    h.q_order = axis_order(*q, {"batch", "pos", "head", "d_head"});
    h.k_order = axis_order(*k, {"batch", "pos", "kv_head", "d_head"});
    h.pattern_order = axis_order(*p, {"batch", "head", "q_pos", "k_pos"});
    hooks_of.push_back(std::move(h));
  }
  const int last_layer = *std::max_element(layers.begin(), layers.end());
  const int group = g.n_heads / std::max(1, g.n_kv_heads);

  // Per chosen layer: q [T, H, dh] and k [T, KV, dh] of each input, patterns [H, T, T].
  std::vector<std::vector<at::Tensor>> q_parts(layers.size()), k_parts(layers.size()), patterns(layers.size());
  Tokens& t = out.tokens;
  t.start.push_back(0);
  at::NoGradGuard no_grad;
  for (std::size_t b = 0; b < inputs.size(); ++b) {
    const mechlens::EncodedInput& input = inputs[b];
    const auto n = static_cast<std::int64_t>(input.ids.size());
    for (std::int64_t i = 0; i < n; ++i) {
      t.input.push_back(static_cast<std::int64_t>(b));
      t.position.push_back(i);
      t.id.push_back(input.ids[i]);
      t.text.push_back(i < static_cast<std::int64_t>(input.tokens.size()) ? input.tokens[i] : "");
    }
    t.start.push_back(t.start.back() + n);
    at::Tensor allowed = at::ones({n, n}, at::kBool);
    t.allowed.push_back(g.causal ? allowed.tril() : allowed);

    mechlens::HookSet hooks;
    for (const auto& h : hooks_of) {
      hooks.cache(h.q);
      hooks.cache(h.k);
      hooks.cache(h.pattern);
    }
    const mechlens::Batch batch = model.make_batch({&input});
    model.run_blocks(model.embed(batch, &hooks), batch, 0, last_layer + 1, &hooks);
    const auto& cached = hooks.cached();
    for (std::size_t li = 0; li < layers.size(); ++li) {
      const auto& h = hooks_of[li];
      auto take = [&](const std::string& name, const std::vector<std::int64_t>& order) {
        const auto it = cached.find(name);
        if (it == cached.end()) fail("attentionviz", "hook point " + name + " did not fire on input " + input.spec.id);
        return it->second.permute(order)[0].to(at::kCPU, at::kDouble);
      };
      q_parts[li].push_back(take(h.q, h.q_order));
      k_parts[li].push_back(take(h.k, h.k_order));
      patterns[li].push_back(take(h.pattern, h.pattern_order));
    }
  }

  for (std::size_t li = 0; li < layers.size(); ++li) {
    const at::Tensor q = at::cat(q_parts[li], 0);  // [N, H, dh]
    const at::Tensor k = at::cat(k_parts[li], 0);  // [N, KV, dh]
    for (int head : heads) {
      HeadVectors v;
      v.layer = layers[li];
      v.head = head;
      v.q = q.select(1, head).contiguous();
      v.k = k.select(1, head / group).contiguous();
      for (const at::Tensor& p : patterns[li]) v.pattern.push_back(p[head].contiguous());
      out.heads.push_back(std::move(v));
    }
  }
  return out;
}

}  // namespace attentionviz
