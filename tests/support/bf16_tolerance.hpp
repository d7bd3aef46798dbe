#pragma once
// How far bfloat16 logits may sit from float32 ones, from the arithmetic.
//
// bf16 keeps 8 significant bits (7 stored + the implicit one): the spacing of
// values in [1, 2) is 2^-7, so rounding a stored value to nearest moves it by
// at most half of that, u = 2^-8 = 0.0039 relative. On the CPU a bf16 matmul,
// norm or softmax accumulates in float32 and rounds once, when it stores its
// output; so the error enters once per op that stores a tensor, along the
// deepest path from the input to the logits: n roundings (per transformer
// layer about 14: norm, q/k/v, rotary, scores, softmax, z, output projection,
// residual add, norm, two MLP projections, activation product, down
// projection, residual add; plus the embedding, final norm, head and, for a
// VLM, projector). Independent roundings add like a random walk, so the
// logits' error is about sqrt(n) u relative to their scale; the bound is
// three times that (3 sigma) times the largest |float32 logit|.
//
// Top-1 follows: when no logit moves by more than the bound, the argmax
// cannot change where the float32 winner leads the runner-up by more than
// twice the bound; there bf16 must pick the same token.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

namespace mechlens::testing {

constexpr int kBf16RoundingsPerLayer = 14;
constexpr int kBf16RoundingsOutsideLayers = 8;

inline double bf16_logit_bound(int layers, double max_abs_logit) {
  const int n = layers * kBf16RoundingsPerLayer + kBf16RoundingsOutsideLayers;
  return 3.0 * std::sqrt(static_cast<double>(n)) * std::ldexp(1.0, -8) * max_abs_logit;
}

// f32 and bf16 logits [..., vocab]; `layers` along the deepest path.
// Returns how many positions were decisive (margin > 2 * bound).
inline int expect_bf16_tracks_f32(const at::Tensor& f32, const at::Tensor& bf16, int layers) {
  const at::Tensor a = f32.to(at::kDouble).reshape({-1, f32.size(-1)});
  const at::Tensor b = bf16.to(at::kDouble).reshape({-1, f32.size(-1)});
  const double bound = bf16_logit_bound(layers, a.abs().max().item<double>());
  const double error = (a - b).abs().max().item<double>();
  EXPECT_LT(error, bound) << "bf16 logits off by " << error << ", bound " << bound;
  const auto top2 = at::topk(a, 2, -1);
  const at::Tensor margin = std::get<0>(top2).select(1, 0) - std::get<0>(top2).select(1, 1);
  const at::Tensor decisive = margin > 2 * bound;
  const at::Tensor same = std::get<1>(top2).select(1, 0) == b.argmax(-1);
  EXPECT_TRUE((same | ~decisive).all().item<bool>()) << "bf16 changed the top-1 token where float32 leads by > 2 bound";
  const int n = static_cast<int>(decisive.sum().item<std::int64_t>());
  std::printf("bf16 vs float32 logits: max |error| %.4g, bound %.4g (%.3g of max |logit|), %d of %lld positions decisive\n",
              error, bound, bound / a.abs().max().item<double>(), n, static_cast<long long>(a.size(0)));
  return n;
}

}  // namespace mechlens::testing
