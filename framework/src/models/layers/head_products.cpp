#include "models/layers/head_products.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>

namespace mechlens::layers {
namespace {

// The per-head path (see the header) applies.
bool per_head(const at::Tensor& a, const at::Tensor& b) {
  const bool needs_autograd = at::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad());
  const auto type = a.scalar_type();
  return !needs_autograd && a.device().is_cpu() && b.device().is_cpu() && a.dim() == 4 && b.dim() == 4 &&
         a.size(0) == b.size(0) && type == b.scalar_type() &&
         (type == at::kFloat || type == at::kDouble || type == at::kBFloat16);
}

// BLAS reads a matrix in place when one of its strides is 1.
at::Tensor unit_last_stride(const at::Tensor& t) { return t.stride(-1) == 1 ? t : t.contiguous(); }

// Runs product(b, h) for every (row, head), the pairs shared out between the threads.
// (Named for profilers: tools/bench_sensitivity counts these products as attention.)
template <typename Product>
void for_each_head(std::int64_t batch, std::int64_t heads, const Product& product) {
  RECORD_FUNCTION("mechlens::head_products", std::vector<c10::IValue>());
  at::parallel_for(0, batch * heads, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) product(i / heads, i % heads);
  });
}

// [B, KV, T, dh] → [B, KV * groups, T, dh] (transformers' repeat_kv), for the fallback.
at::Tensor repeat_kv(const at::Tensor& x, std::int64_t groups) {
  if (groups == 1) return x;
  const auto b = x.size(0), kv = x.size(1), t = x.size(2), d = x.size(3);
  return x.unsqueeze(2).expand({b, kv, groups, t, d}).reshape({b, kv * groups, t, d});
}

}  // namespace

at::Tensor head_scores(const at::Tensor& q_in, const at::Tensor& k_in, double scale) {
  const auto heads = q_in.size(2), groups = heads / k_in.size(2);
  if (!per_head(q_in, k_in)) {
    const at::Tensor k = repeat_kv(k_in.transpose(1, 2), groups);  // [B, H, Tk, dh]
    return at::matmul(q_in.transpose(1, 2), k.transpose(-1, -2)).mul_(scale);
  }
  const at::Tensor q = unit_last_stride(q_in), k = unit_last_stride(k_in);
  at::Tensor scores = at::empty({q.size(0), heads, q.size(1), k.size(1)}, q.options());
  // beta = 0: the uninitialised output is written, never read.
  for_each_head(q.size(0), heads, [&](std::int64_t b, std::int64_t h) {
    at::Tensor out = scores.select(0, b).select(0, h);
    at::addmm_out(out, out, q.select(0, b).select(1, h), k.select(0, b).select(1, h / groups).t(), 0, scale);
  });
  return scores;
}

at::Tensor head_mix(const at::Tensor& pattern, const at::Tensor& v_in) {
  const auto heads = pattern.size(1), groups = heads / v_in.size(2);
  if (!per_head(pattern, v_in)) {
    const at::Tensor v = repeat_kv(v_in.transpose(1, 2), groups);  // [B, H, Tk, dh]
    return at::matmul(pattern, v).transpose(1, 2);
  }
  const at::Tensor v = unit_last_stride(v_in);
  at::Tensor z = at::empty({pattern.size(0), pattern.size(2), heads, v.size(3)}, v.options());
  for_each_head(pattern.size(0), heads, [&](std::int64_t b, std::int64_t h) {
    at::Tensor out = z.select(0, b).select(1, h);  // [Tq, dh], rows H*dh apart
    at::mm_out(out, pattern.select(0, b).select(0, h), v.select(0, b).select(1, h / groups));
  });
  return z;
}

}  // namespace mechlens::layers
