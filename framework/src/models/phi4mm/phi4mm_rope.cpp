#include "models/phi4mm/phi4mm_rope.hpp"

#include <ATen/ATen.h>

namespace mechlens::models::phi4mm {

at::Tensor rope_inv_freq(const Phi4mmConfig& c, std::int64_t length, const at::Device& device) {
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  // arange(0, d, 2, int64).float() / d, then base ** that, all float32.
  const at::Tensor exponents =
      at::arange(0, c.rotary_dim, 2, f32.dtype(at::kLong)).to(at::kFloat) / static_cast<double>(c.rotary_dim);
  const at::Tensor powers = at::pow(c.rope_theta, exponents);
  if (!c.rope.enabled) return 1.0 / powers;
  const bool long_context = length > c.rope.original_max;
  const std::vector<double>& factors = long_context ? c.rope.long_factor : c.rope.short_factor;
  const at::Tensor ext = at::tensor(factors, at::kDouble).to(f32);
  return 1.0 / (ext * powers);
}

layers::RotaryTables rope_tables(const Phi4mmConfig& c, std::int64_t length, at::ScalarType dtype,
                                 const at::Device& device) {
  const double scale = c.rope.enabled ? c.rope.attention_factor : 1.0;
  return layers::rotary_tables_from_inv_freq(length, rope_inv_freq(c, length, device), dtype, device, scale);
}

}  // namespace mechlens::models::phi4mm
