#pragma once
// What is measured on each head: that the transform keeps every attention
// pattern, and how well distance in a space stands for attention.
#include <ATen/ATen.h>

#include <vector>

#include "collect.hpp"

namespace attentionviz {

// softmax(scale * q k^T) over the allowed keys, per input.
std::vector<at::Tensor> patterns_from(const Tokens& tokens, const at::Tensor& q, const at::Tensor& k, double scale);
// Largest |a - b| over all inputs' patterns.
double max_abs_difference(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b);

// Fraction of queries whose nearest allowed key in `points` ([2N, dims],
// queries then keys) is the key the model's pattern weights most.
double nearest_key_is_top(const Tokens& tokens, const HeadVectors& head, const at::Tensor& points);

// The `per_query` largest attention weights of each query, those >= `min_weight`.
struct Edge {
  std::int64_t query = 0, key = 0;  // token indices (key point = N + key)
  double weight = 0.0;
};
std::vector<Edge> top_edges(const Tokens& tokens, const HeadVectors& head, int per_query, double min_weight);

}  // namespace attentionviz
