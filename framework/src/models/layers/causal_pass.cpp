#include "models/layers/causal_pass.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"
#include "models/layers/attention.hpp"

namespace mechlens::layers {
namespace {

// Positions [start, start + n) of the tables.
RotaryTables positions_of(const RotaryTables& all, std::int64_t start, std::int64_t n) {
  if (start == 0) return all;
  if (start + n > all.cos.size(0))
    fail("prefix reuse", "rotary tables cover " + std::to_string(all.cos.size(0)) + " positions, the run needs " +
                             std::to_string(start + n));
  RotaryTables t = all;
  t.cos = all.cos.narrow(0, start, n);
  t.sin = all.sin.narrow(0, start, n);
  return t;
}

// The cached prefix [B', start, KV, dh] before the run's [B, Tq, KV, dh]; a
// batch of 1 on either side broadcasts to the other's.
at::Tensor prepend(const at::Tensor& cached, std::int64_t start, at::Tensor run, const char* what, int layer) {
  const std::string where = "prefix reuse: layer " + std::to_string(layer) + " " + what;
  if (!cached.defined()) fail(where, "not in the cache (the recording forward did not run this layer)");
  if (cached.dim() != 4 || cached.size(1) < start || cached.size(2) != run.size(2) || cached.size(3) != run.size(3))
    fail(where, "cached " + std::string(c10::str(cached.sizes())) + " does not cover " + std::to_string(start) +
                    " positions of " + std::string(c10::str(run.sizes())));
  at::Tensor head = cached.narrow(1, 0, start).to(run.options());
  const auto b = std::max(head.size(0), run.size(0));
  if (head.size(0) != b && head.size(0) != 1) fail(where, "cached batch " + std::to_string(head.size(0)) + " vs " + std::to_string(b));
  if (run.size(0) != b && run.size(0) != 1) fail(where, "run batch " + std::to_string(run.size(0)) + " vs " + std::to_string(b));
  if (head.size(0) != b) head = head.expand({b, head.size(1), head.size(2), head.size(3)});
  if (run.size(0) != b) run = run.expand({b, run.size(1), run.size(2), run.size(3)});
  return at::cat({head, run}, 1);
}

}  // namespace

CausalPass::CausalPass(const at::Tensor& attention_mask, std::int64_t run_length, const PrefixReuse* reuse,
                       const at::Device& device)
    : run_(run_length) {
  if (reuse) {
    start_ = reuse->start;
    prefix_ = reuse->prefix;
    record_ = reuse->record;
  }
  total_ = start_ + run_;
  if (start_ < 0 || run_ < 1)
    fail("prefix reuse", "cannot run " + std::to_string(run_) + " positions from " + std::to_string(start_));
  if (start_ > 0 && !prefix_) fail("prefix reuse", "start " + std::to_string(start_) + " without cached keys/values");
  if (attention_mask.defined() && attention_mask.size(-1) != total_)
    fail("prefix reuse", "the batch has " + std::to_string(attention_mask.size(-1)) + " positions, the run covers " +
                             std::to_string(start_) + " + " + std::to_string(run_));
  mask_ = make_attention_mask(attention_mask, run_, total_, /*causal=*/true, device);
}

at::Tensor CausalPass::rotary_attention(int layer, at::Tensor q, at::Tensor k, at::Tensor v,
                                        const RotaryTables& rotary, const HookScope& hooks, double scale,
                                        at::Tensor* unhooked_z) const {
  q = hooks("hook_q", std::move(q));
  k = hooks("hook_k", std::move(k));
  v = hooks("hook_v", std::move(v));
  const RotaryTables here = positions_of(rotary, start_, q.size(1));
  q = hooks("hook_rot_q", apply_rotary(q, here));
  k = hooks("hook_rot_k", apply_rotary(k, here));
  if (start_ > 0) {
    const auto in = [&](const std::vector<at::Tensor>& per_layer) {
      return static_cast<std::size_t>(layer) < per_layer.size() ? per_layer[static_cast<std::size_t>(layer)] : at::Tensor();
    };
    k = prepend(in(prefix_->keys), start_, std::move(k), "keys", layer);
    v = prepend(in(prefix_->values), start_, std::move(v), "values", layer);
  }
  if (record_) {
    const auto n = static_cast<std::size_t>(layer) + 1;
    if (record_->keys.size() < n) record_->keys.resize(n);
    if (record_->values.size() < n) record_->values.resize(n);
    record_->keys[n - 1] = k;
    record_->values[n - 1] = v;
  }
  return attend(q, k, v, mask_, hooks, scale, unhooked_z);
}

}  // namespace mechlens::layers
