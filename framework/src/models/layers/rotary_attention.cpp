#include "models/layers/rotary_attention.hpp"

#include <ATen/ATen.h>

#include "models/layers/attention.hpp"

namespace mechlens::layers {

at::Tensor rotary_attention(at::Tensor q, at::Tensor k, at::Tensor v, const RotaryTables& rotary,
                            const at::Tensor& mask, const HookScope& hooks, double scale) {
  q = hooks("hook_q", std::move(q));
  k = hooks("hook_k", std::move(k));
  v = hooks("hook_v", std::move(v));
  q = hooks("hook_rot_q", apply_rotary(q, rotary));
  k = hooks("hook_rot_k", apply_rotary(k, rotary));
  return attend(q, k, v, mask, hooks, scale);
}

}  // namespace mechlens::layers
