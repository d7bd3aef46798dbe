#pragma once
// Attention's output projection, o(z) = z W_O^T + b over z [B, T, H, dh],
// written so that a head sweep pays only for what its ablation changes.
//
// A sweep fans one input out at hook_z: row r of z is the clean z with a
// few heads (usually one) replaced. Then o(z)[r] = o(z_clean) + sum over the
// changed heads h of (z[r, :, h] - z_clean[:, h]) W_O[:, h]^T, so the full
// projection runs once at batch 1 and each changed head costs a [T, dh] x
// [dh, d] product: 1/H of a row's projection (issue 14: in the ablated layer
// only W_O z_h changes).
//
// Everything else (no hook changed the batch, most heads changed, autograd,
// non-finite clean values, a hook that wrote into the clean z) takes the
// plain projection. Both agree to float rounding.
#include <ATen/core/Tensor.h>

#include "models/layers/linear.hpp"

namespace mechlens::layers {

// o(z) for z [B, T, H, dh] after hook_z; `unhooked_z` is z before hook_z
// (attend's out-parameter; undefined = unknown).
at::Tensor project_heads(const Linear& o, const at::Tensor& z, const at::Tensor& unhooked_z);

// The same at `positions` ([P] int64) only → [B, P, d]: a final block
// narrowed after hook_z (models/final_block_at.hpp).
at::Tensor project_heads_at(const Linear& o, const at::Tensor& z, const at::Tensor& unhooked_z,
                            const at::Tensor& positions);

}  // namespace mechlens::layers
