#pragma once
// One run_blocks call of a causal rotary decoder: which positions it runs,
// its attention mask, and prefix reuse (mechlens::PrefixReuse in model.hpp):
// a forward over positions [start, T) only, whose attention prepends the
// keys and values of [0, start) recorded by an earlier forward of the same
// input, and which records its own keys and values when asked. Every decoder
// stack (Qwen2, LLaVA-OneVision's language model, Phi-4-mm) builds one per
// call and hands each layer's attention to it, so each gets prefix reuse
// without code of its own:
//
//   const layers::CausalPass pass(attention_mask, x.size(1), reuse, x.device());
//   const auto rotary = rotary_tables(pass.total_length(), ...);  // all T positions
//   per layer l:  z = pass.rotary_attention(l, q, k, v, rotary, scope.sub("attn."));
//
// With no reuse (nullptr, or start 0 and no record) this is exactly
// make_attention_mask + rotary_attention.
//
// What a reused forward computes equals the full forward at positions
// [start, T) as long as nothing before `start` changed: the score rows of
// the run queries are whole ([Tq, T]: the cached prefix keys and every later
// key, masked ones included), so a hook on the raw scores (AtMan's row
// minimum) sees what it sees in the full forward.
#include <ATen/core/Tensor.h>

#include "mechlens/hooks.hpp"
#include "mechlens/model.hpp"
#include "models/layers/rotary.hpp"

namespace mechlens::layers {

class CausalPass {
 public:
  // `attention_mask` [B, T] (true = real token) or undefined; `run_length`
  // the residual's position count (T - start); `reuse` may be nullptr.
  CausalPass(const at::Tensor& attention_mask, std::int64_t run_length, const PrefixReuse* reuse,
             const at::Device& device);

  std::int64_t start() const { return start_; }
  std::int64_t total_length() const { return total_; }
  // Causal + padding mask for the run queries against all T keys.
  const at::Tensor& mask() const { return mask_; }

  // rotary_attention (hook_q/k/v, rotary at the run's positions,
  // hook_rot_q/k, then attend) with layer `layer`'s cached prefix keys and
  // values prepended and the whole [0, T) recorded when asked. `rotary`
  // covers all T positions. hook_q/k/v/rot_q/rot_k fire over the run
  // positions; scores and pattern over every key. `unhooked_z` as attend's.
  at::Tensor rotary_attention(int layer, at::Tensor q, at::Tensor k, at::Tensor v, const RotaryTables& rotary,
                              const HookScope& hooks, double scale = 0.0, at::Tensor* unhooked_z = nullptr) const;

 private:
  std::int64_t start_ = 0, run_ = 0, total_ = 0;
  const KeyValueCache* prefix_ = nullptr;
  KeyValueCache* record_ = nullptr;
  at::Tensor mask_;
};

}  // namespace mechlens::layers
