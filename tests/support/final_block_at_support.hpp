#pragma once
// The checks every FinalBlockAtPositions adapter must pass (BERT, Qwen2,
// LLaVA-OneVision, Phi-4-mm): logits at `positions` from the narrowed final
// block equal the full forward's, resuming from every layer; and with the
// sweep's hooks in the final block's attention, the block narrows after
// hook_z.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "linear_rows.hpp"
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

// Hooks in the final block's attention alone narrow it after hook_z: the
// attention runs at every position (a hook on the pattern sees [.., T, T]);
// the output projection, FFN and unembedding run at the P positions only;
// and the logits are the full forward's. With a batch of one, the write hook
// on hook_z zero-ablates each head of the final layer in its own row (batch
// 1 fanned out to H rows, as the sweep's hooks do: written out here so that
// the models' tests need no interventions library); with more rows it
// zeroes head 0 in every row (no fan-out: the plain projection).
inline void expect_attention_hooks_narrow_after_z(const Model& model, const Batch& batch,
                                                  const at::Tensor& positions, const std::string& what) {
  at::NoGradGuard no_grad;
  const Geometry g = model.geometry();
  const int last = g.n_layers - 1;
  const at::Tensor residual = model.run_blocks(model.embed(batch, nullptr), batch, 0, last, nullptr);
  const std::int64_t B = residual.size(0), T = residual.size(1), P = positions.size(0);
  ASSERT_NE(T, P) << what;
  const std::int64_t rows_out = B == 1 ? g.n_heads : B;
  LinearRows* counting = nullptr;
  std::size_t linears_before_z = 0;  // how many at::linear ran before hook_z fired
  HookSet hooks;
  hooks.add_write("blocks." + std::to_string(last) + ".attn.hook_z", [&](const std::string&, const at::Tensor& z) {
    if (counting) linears_before_z = counting->rows().size();
    at::Tensor out = z.expand({rows_out, z.size(1), z.size(2), z.size(3)}).clone();
    for (std::int64_t r = 0; r < rows_out; ++r) out[r].select(1, B == 1 ? r : 0).zero_();
    return out;
  });
  std::vector<std::vector<std::int64_t>> patterns;
  hooks.add_read("blocks." + std::to_string(last) + ".attn.hook_pattern",
                 [&](const std::string&, const at::Tensor& v) { patterns.push_back(v.sizes().vec()); });
  std::vector<std::int64_t> rows;
  at::Tensor narrow;
  {
    LinearRows count;
    counting = &count;
    narrow = models::forward_from_at(model, last, residual, batch, &hooks, positions);
    rows = count.rows();
    counting = nullptr;
  }
  ASSERT_EQ(patterns.size(), 1u) << what;
  EXPECT_EQ(patterns[0][2], T) << what;  // [B, H, T, T]: every query, every key
  EXPECT_EQ(patterns[0][3], T) << what;
  // q/k/v over T before hook_z; everything after it (output projection,
  // FFN, unembedding) over P.
  ASSERT_GE(linears_before_z, 1u) << what;
  ASSERT_GE(rows.size(), linears_before_z + 3) << what;
  for (std::size_t i = 0; i < rows.size(); ++i)
    EXPECT_EQ(rows[i], i < linears_before_z ? T : P) << what << ", linear " << i;

  const at::Tensor full = model.forward_from(last, residual, batch, &hooks, positions);
  ASSERT_EQ(narrow.sizes(), full.sizes()) << what;
  EXPECT_EQ(narrow.size(0), rows_out) << what;
  EXPECT_LT(max_abs_diff(narrow, full), 1e-5) << what;
  // The hook's edit counts: not the clean logits.
  EXPECT_GT(max_abs_diff(narrow, model.forward_from(last, residual, batch, nullptr, positions)), 1e-6) << what;
}

}  // namespace mechlens::testing
