#pragma once
// The check every FinalBlockAtPositions adapter must pass (BERT, Qwen2,
// LLaVA-OneVision, Phi-4-mm): logits at `positions` from the narrowed final
// block equal the full forward's, resuming from every layer.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>

#include "mechlens/model.hpp"
#include "models/final_block_at.hpp"
#include "tiny_bert_support.hpp"  // max_abs_diff

namespace mechlens::testing {

inline void expect_narrowed_equals_full_forward(const Model& model, const Batch& batch, const at::Tensor& positions,
                                                const std::string& what) {
  at::NoGradGuard no_grad;
  const int L = model.geometry().n_layers;
  at::Tensor residual = model.embed(batch, nullptr);
  for (int layer = 0; layer < L; ++layer) {
    const at::Tensor full = model.forward_from(layer, residual, batch, nullptr, positions);
    const at::Tensor narrow = models::forward_from_at(model, layer, residual, batch, nullptr, positions);
    ASSERT_EQ(narrow.sizes(), full.sizes()) << what << ", layer " << layer;
    EXPECT_LT(max_abs_diff(narrow, full), 1e-5) << what << ", layer " << layer;
    residual = model.run_blocks(residual, batch, layer, layer + 1, nullptr);
  }
}

}  // namespace mechlens::testing
