#include "models/layers/head_projection.hpp"

#include <ATen/ATen.h>

namespace mechlens::layers {
namespace {

at::Tensor flat(const at::Tensor& z) { return z.reshape({z.size(0), z.size(1), z.size(2) * z.size(3)}); }

// z is the clean z fanned out to several rows by a hook that left its input as it was.
bool fanned_out(const at::Tensor& z, const at::Tensor& clean) {
  if (!clean.defined() || clean.dim() != 4 || z.dim() != 4 || clean.size(0) != 1 || z.size(0) <= 1) return false;
  if (z.sizes().slice(1) != clean.sizes().slice(1) || z.scalar_type() != clean.scalar_type()) return false;
  if (!z.device().is_cpu() || (at::GradMode::is_enabled() && (z.requires_grad() || clean.requires_grad()))) return false;
  // A hook that wrote into its input leaves no clean z to compare against.
  return !z.storage().is_alias_of(clean.storage());
}

}  // namespace

at::Tensor project_heads(const Linear& o, const at::Tensor& z, const at::Tensor& unhooked_z) {
  if (!fanned_out(z, unhooked_z)) return o(flat(z));
  // inf - inf would hide a change; such a clean z takes the plain path.
  if (!unhooked_z.isfinite().all().item<bool>()) return o(flat(z));
  const auto rows = z.size(0), heads = z.size(2), d_head = z.size(3);
  const at::Tensor delta = z - unhooked_z;                                   // [R, T, H, dh]
  const at::Tensor changed = delta.ne(0).any(3).any(1).contiguous();         // [R, H]; NaN counts as changed
  if (2 * changed.sum().item<std::int64_t>() > rows * heads) return o(flat(z));  // one GEMM is cheaper
  at::Tensor out = o(flat(unhooked_z)).expand({rows, z.size(1), o.out_features()}).contiguous();
  const bool* is_changed = changed.data_ptr<bool>();
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t h = 0; h < heads; ++h) {
      if (!is_changed[r * heads + h]) continue;
      at::Tensor row = out.select(0, r);  // [T, d]
      row.addmm_(delta.select(0, r).select(1, h), o.weight.narrow(1, h * d_head, d_head).t());
    }
  return out;
}

at::Tensor project_heads_at(const Linear& o, const at::Tensor& z, const at::Tensor& unhooked_z,
                            const at::Tensor& positions) {
  // Aliasing is judged before the gather, which copies: a hook that wrote
  // into the clean z must still take the plain path.
  const bool clean_known = unhooked_z.defined() && !z.storage().is_alias_of(unhooked_z.storage());
  return project_heads(o, z.index_select(1, positions),
                       clean_known ? unhooked_z.index_select(1, positions) : at::Tensor());
}

}  // namespace mechlens::layers
