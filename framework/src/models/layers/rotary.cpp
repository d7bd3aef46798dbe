#include "models/layers/rotary.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"

namespace mechlens::layers {

RotaryTables rotary_tables_from_inv_freq(std::int64_t length, const at::Tensor& inv_freq, at::ScalarType dtype,
                                         const at::Device& device, double scale) {
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  const at::Tensor positions = at::arange(length, f32);
  // Outer product in float32 (HF: inv_freq[None, :, None] @ position_ids[:, None, :], autocast off).
  const at::Tensor freqs = at::outer(positions, inv_freq.to(f32));  // [T, d/2]
  const at::Tensor emb = at::cat({freqs, freqs}, -1);               // [T, d]
  RotaryTables t;
  t.rotary_dim = emb.size(-1);
  at::Tensor cos = emb.cos(), sin = emb.sin();
  if (scale != 1.0) {
    cos = cos * scale;
    sin = sin * scale;
  }
  t.cos = cos.to(dtype).unsqueeze(1);
  t.sin = sin.to(dtype).unsqueeze(1);
  return t;
}

RotaryTables rotary_tables(std::int64_t length, std::int64_t rotary_dim, double theta, at::ScalarType dtype,
                           const at::Device& device, double scale) {
  if (rotary_dim <= 0 || rotary_dim % 2 != 0)
    fail("rotary", "rotary dimension must be positive and even, got " + std::to_string(rotary_dim));
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  // inv_freq = 1 / theta ** (arange(0, d, 2) / d), all in float32 (_compute_default_rope_parameters).
  const at::Tensor exponents = at::arange(0, rotary_dim, 2, f32.dtype(at::kLong)).to(at::kFloat) / static_cast<double>(rotary_dim);
  const at::Tensor inv_freq = 1.0 / at::pow(theta, exponents);
  return rotary_tables_from_inv_freq(length, inv_freq, dtype, device, scale);
}

at::Tensor rotate_half(const at::Tensor& x) {
  const auto half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

at::Tensor apply_rotary(const at::Tensor& x, const RotaryTables& tables) {
  const auto d = x.size(-1), r = tables.rotary_dim;
  if (r > d) fail("rotary", "rotary dimension " + std::to_string(r) + " exceeds head dimension " + std::to_string(d));
  const auto t = x.size(1);
  if (t > tables.cos.size(0))
    fail("rotary", "tables cover " + std::to_string(tables.cos.size(0)) + " positions, input has " + std::to_string(t));
  const at::Tensor cos = tables.cos.narrow(0, 0, t), sin = tables.sin.narrow(0, 0, t);
  if (r == d) return x * cos + rotate_half(x) * sin;
  const at::Tensor rot = x.narrow(-1, 0, r);
  return at::cat({rot * cos + rotate_half(rot) * sin, x.narrow(-1, r, d - r)}, -1);
}

}  // namespace mechlens::layers
