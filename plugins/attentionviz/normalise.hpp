#pragma once
// AttentionViz's vector normalisation (Yeh et al. 2023, §5.1.1), which leaves
// every attention pattern unchanged:
//
//   q' = c q,   k' = k / c + t,   t = c mean(q) - mean(k) / c
//
// Scaling by c and 1/c keeps every dot product; the translation t adds
// q'·t to every score of a query's row, a per-row constant the softmax
// ignores. t is taken after the scaling, so the centroids of q' and k'
// coincide in the space that is drawn.
//
// c is chosen by one of:
//   equal_norms      mean |q'| = mean |k'| (the unique root; found by bisection)
//   max_correlation  the Pearson correlation between the raw dot products q·k
//                    and the distances |q' - k'| over attended pairs is most
//                    negative (high score = close), optionally weighted by the
//                    model's attention weight; distances measured in the
//                    d_head-dimensional space ("full": before any projection)
//                    or in the 2-D PCA of q', k' ("pca2": after projection).
//                    Searched on a grid of c_equal_norms * 2^t, t in [-4, 4].
#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "collect.hpp"

namespace attentionviz {

struct Transform {
  double scale = 1.0;    // c
  at::Tensor key_shift;  // t [d_head]
  at::Tensor queries(const HeadVectors& h) const { return h.q * scale; }
  at::Tensor keys(const HeadVectors& h) const { return h.k / scale + key_shift; }
};

Transform transform_for(const HeadVectors& head, double scale);

// The c at which mean |q'| = mean |k'|, over all the given heads' points
// together (one head: per-head normalisation; all heads: one shared c).
double equal_norm_scale(const std::vector<const HeadVectors*>& heads);

enum class DistanceSpace { full, pca2 };
DistanceSpace parse_distance_space(const std::string& name);

// The c whose dot-product/distance correlation is most negative, pooled over
// the given heads; `around` is the grid's centre (the equal-norm c).
double max_correlation_scale(const Tokens& tokens, const std::vector<const HeadVectors*>& heads, double around,
                             DistanceSpace space, bool weighted);

// Joint point set [2N, d]: queries then keys.
at::Tensor joint(const at::Tensor& q, const at::Tensor& k);

}  // namespace attentionviz
