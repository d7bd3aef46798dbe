#pragma once
// Mean ablation over a reference set (the "dataset mean" of the mean-ablation
// literature, e.g. Wang et al. 2022's IOI circuit): each head's output z is
// replaced by its mean over every position of every input of the recipe,
// a fixed vector per (layer, head), instead of the input's own mean over
// positions (the framework's HeadAblation::mean). Written against the public
// hooks API with the same fan-out as ablate_each_head: the forward resumes
// from the clean residual entering the layer at batch 1, and the hook_z write
// hook expands it to one row per head.
#include <ATen/core/Tensor.h>

#include <vector>

#include "mechlens/model.hpp"

namespace ablation_compare {

// Mean of blocks.L.attn.hook_z over every real position of every input,
// weighting each token equally → [n_layers, n_heads, d_head] float64.
at::Tensor dataset_mean_z(const mechlens::Model& model, const std::vector<const mechlens::EncodedInput*>& inputs);

// Logits at `positions` with each head of `layer` in turn replaced by
// means[layer][head] → [n_heads, P, vocab] (one row per head).
at::Tensor ablate_each_head_to_mean(const mechlens::Model& model, const mechlens::Batch& single,
                                    const at::Tensor& resid_pre, int layer, const at::Tensor& means,
                                    const at::Tensor& positions);

}  // namespace ablation_compare
