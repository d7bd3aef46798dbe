#include "models/layers/causal_rows.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"

namespace mechlens::layers {

void check_positions(const at::Tensor& positions, std::int64_t length) {
  if (!positions.defined() || positions.dim() != 1 || positions.numel() == 0)
    fail("final block at positions", "positions must be a non-empty [P] tensor");
  const at::Tensor p = positions.to(at::kLong);
  const auto lo = p.min().item<std::int64_t>(), hi = p.max().item<std::int64_t>();
  if (lo < 0 || hi >= length)
    fail("final block at positions", "positions [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                         "] outside the sequence's " + std::to_string(length));
}

at::Tensor causal_mask_at(const at::Tensor& attention_mask, const at::Tensor& positions, std::int64_t length,
                          const at::Device& device) {
  check_positions(positions, length);
  const at::Tensor q_pos = positions.to(device, at::kLong).unsqueeze(1);                          // [P, 1]
  const at::Tensor k_pos = at::arange(0, length, at::TensorOptions(device).dtype(at::kLong)).unsqueeze(0);  // [1, T]
  at::Tensor mask = (k_pos <= q_pos).view({1, 1, q_pos.size(0), length});
  if (attention_mask.defined()) {
    if (attention_mask.size(-1) != length)
      fail("final block at positions", "padding mask has " + std::to_string(attention_mask.size(-1)) +
                                           " keys, the residual " + std::to_string(length) + " positions");
    const at::Tensor real = attention_mask.to(device, at::kBool).view({attention_mask.size(0), 1, 1, length});
    // No padding: the causal rows alone (as make_attention_mask).
    if (!(real.device().is_cpu() && real.all().item<bool>())) mask = at::logical_and(real, mask);
  }
  return mask;
}

RotaryTables rotary_at(const RotaryTables& all, const at::Tensor& positions) {
  check_positions(positions, all.cos.size(0));
  const at::Tensor p = positions.to(all.cos.device(), at::kLong);
  RotaryTables t = all;
  t.cos = all.cos.index_select(0, p);
  t.sin = all.sin.index_select(0, p);
  return t;
}

}  // namespace mechlens::layers
