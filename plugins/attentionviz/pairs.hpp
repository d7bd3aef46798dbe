#pragma once
// Values over the (query, key) pairs that attention connects: pairs within
// one input, keys the query may attend to (causal models: not the future).
// Every pair table lists pairs in the same order (input, query, key).
#include <ATen/ATen.h>

#include <functional>

#include "collect.hpp"

namespace attentionviz {

// Concatenates block(b) [T, T] of every input over its allowed pairs → [P].
at::Tensor over_pairs(const Tokens& tokens, const std::function<at::Tensor(std::size_t b)>& block);

// Raw dot products q·k over the pairs (the scores without 1/sqrt(d_head)).
at::Tensor pair_dots(const Tokens& tokens, const at::Tensor& q, const at::Tensor& k);
// Euclidean distances between query i and key j over the pairs; `points` is
// [2N, dims]: queries first, then keys (a joint embedding or the vectors).
at::Tensor pair_distances(const Tokens& tokens, const at::Tensor& points);
// The model's attention weight of each pair.
at::Tensor pair_weights(const Tokens& tokens, const HeadVectors& head);

// Pearson correlation of x and y, weighted by w when w is defined.
double correlation(const at::Tensor& x, const at::Tensor& y, const at::Tensor& w = {});

}  // namespace attentionviz
