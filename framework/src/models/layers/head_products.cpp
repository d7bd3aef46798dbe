#include "models/layers/head_products.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <vector>

#include "models/layers/small_gemm.hpp"

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
template <typename Product>
void for_each_head(std::int64_t batch, std::int64_t heads, const Product& product) {
  at::parallel_for(0, batch * heads, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) product(i / heads, i % heads);
  });
}

// float on a CPU the small-GEMM kernel runs on (otherwise BLAS through ATen).
bool own_kernel(const at::Tensor& a) { return a.scalar_type() == at::kFloat && small_gemm::available(); }

// Head `head` of row `row` of a [B, T, heads, dh] view with unit last stride.
const float* head_data(const at::Tensor& t, std::int64_t row, std::int64_t head) {
  return t.data_ptr<float>() + row * t.stride(0) + head * t.stride(2);
}

// One thread's copy of a head's keys (transposed, [dh, Tk]: the kernel runs
// along its rows) or values ([Tk, dh], rows packed together instead of H*dh
// apart). Kept per thread: no allocation per product. Within one call, the
// heads of a group (grouped-query attention) reuse the copy.
struct HeadScratch {
  std::vector<float> data;
  std::uint64_t call = 0;         // the head_scores / head_mix call it was copied in
  const float* source = nullptr;  // and from where
  // Space for `size` floats; true when it already holds `from` (copied in this call).
  bool holds(std::size_t size, std::uint64_t this_call, const float* from) {
    if (data.size() < size) data.resize(size), source = nullptr;
    const bool same = call == this_call && source == from;
    call = this_call, source = from;
    return same;
  }
};

// A fresh number per call: memory freed after one call may hold other heads at the same address in the next.
std::uint64_t next_call() {
  static std::atomic<std::uint64_t> calls{0};
  return ++calls;
}

// k's head (row, kv) as [dh, Tk] in `scratch`.
const float* keys_transposed(const at::Tensor& k, std::int64_t row, std::int64_t kv, std::uint64_t call,
                             HeadScratch& scratch) {
  const std::int64_t tk = k.size(1), dh = k.size(3), ld = k.stride(1);
  const float* src = head_data(k, row, kv);
  if (!scratch.holds(static_cast<std::size_t>(tk * dh), call, src))
    for (std::int64_t t = 0; t < tk; ++t)
      for (std::int64_t c = 0; c < dh; ++c) scratch.data[c * tk + t] = src[t * ld + c];
  return scratch.data.data();
}

// v's head (row, kv) as [Tk, dh] in `scratch`.
const float* values_packed(const at::Tensor& v, std::int64_t row, std::int64_t kv, std::uint64_t call,
                           HeadScratch& scratch) {
  const std::int64_t tk = v.size(1), dh = v.size(3), ld = v.stride(1);
  const float* src = head_data(v, row, kv);
  if (!scratch.holds(static_cast<std::size_t>(tk * dh), call, src))
    for (std::int64_t t = 0; t < tk; ++t) std::memcpy(scratch.data.data() + t * dh, src + t * ld, sizeof(float) * dh);
  return scratch.data.data();
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
  // Named for profilers, with the operands: tools/bench_sensitivity counts these products' time and FLOPs as attention.
  RECORD_FUNCTION("mechlens::head_scores", std::vector<c10::IValue>({q_in, k_in}));
  const at::Tensor q = unit_last_stride(q_in), k = unit_last_stride(k_in);
  at::Tensor scores = at::empty({q.size(0), heads, q.size(1), k.size(1)}, q.options());
  if (own_kernel(q)) {
    const std::int64_t tq = q.size(1), tk = k.size(1), dh = q.size(3);
    const std::uint64_t call = next_call();
    for_each_head(q.size(0), heads, [&](std::int64_t b, std::int64_t h) {
      thread_local HeadScratch scratch;
      const float* kt = keys_transposed(k, b, h / groups, call, scratch);
      float* out = scores.data_ptr<float>() + (b * heads + h) * tq * tk;
      small_gemm::multiply(tq, tk, dh, head_data(q, b, h), q.stride(1), kt, tk, out, tk, static_cast<float>(scale));
    });
    return scores;
  }
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
  RECORD_FUNCTION("mechlens::head_mix", std::vector<c10::IValue>({pattern, v_in}));
  const at::Tensor v = unit_last_stride(v_in);
  at::Tensor z = at::empty({pattern.size(0), pattern.size(2), heads, v.size(3)}, v.options());
  if (own_kernel(v)) {  // per_head: pattern has v's dtype
    const at::Tensor p = unit_last_stride(pattern);
    const std::int64_t tq = p.size(2), tk = p.size(3), dh = v.size(3);
    const std::uint64_t call = next_call();
    for_each_head(p.size(0), heads, [&](std::int64_t b, std::int64_t h) {
      thread_local HeadScratch scratch;
      const float* vp = values_packed(v, b, h / groups, call, scratch);
      const float* weights = p.data_ptr<float>() + b * p.stride(0) + h * p.stride(1);
      float* out = z.data_ptr<float>() + b * z.stride(0) + h * z.stride(2);  // [Tq, dh], rows H*dh apart
      small_gemm::multiply(tq, dh, tk, weights, p.stride(2), vp, dh, out, z.stride(1), 1.0f);
    });
    return z;
  }
  for_each_head(pattern.size(0), heads, [&](std::int64_t b, std::int64_t h) {
    at::Tensor out = z.select(0, b).select(1, h);  // [Tq, dh], rows H*dh apart
    at::mm_out(out, pattern.select(0, b).select(0, h), v.select(0, b).select(1, h / groups));
  });
  return z;
}

}  // namespace mechlens::layers
