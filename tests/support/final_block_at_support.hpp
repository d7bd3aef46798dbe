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

// Zero-ablating each head of the final layer fans batch 1 out to one row per
// head at its hook_z (as the sweep's hooks do; written out here so that the
// models' tests need no interventions library). The attention runs at every position (a hook on the
// pattern sees [.., T, T]); the output projection, FFN and unembedding run
// at the P positions only; and the logits are the full forward's.
inline void expect_attention_hooks_narrow_after_z(const Model& model, const Batch& single,
                                                  const at::Tensor& positions, const std::string& what) {
  at::NoGradGuard no_grad;
  const Geometry g = model.geometry();
  const int last = g.n_layers - 1;
  const at::Tensor residual = model.run_blocks(model.embed(single, nullptr), single, 0, last, nullptr);
  const std::int64_t T = residual.size(1), P = positions.size(0);
  ASSERT_NE(T, P) << what;
  HookSet hooks;
  hooks.add_write("blocks." + std::to_string(last) + ".attn.hook_z", [&](const std::string&, const at::Tensor& z) {
    at::Tensor rows = z.expand({g.n_heads, z.size(1), z.size(2), z.size(3)}).clone();  // [H, T, H, dh]
    for (int h = 0; h < g.n_heads; ++h) rows[h].select(1, h).zero_();
    return rows;
  });
  std::vector<std::vector<std::int64_t>> patterns;
  hooks.add_read("blocks." + std::to_string(last) + ".attn.hook_pattern",
                 [&](const std::string&, const at::Tensor& v) { patterns.push_back(v.sizes().vec()); });
  std::vector<std::int64_t> rows;
  at::Tensor narrow;
  {
    LinearRows count;
    narrow = models::forward_from_at(model, last, residual, single, &hooks, positions);
    rows = count.rows();
  }
  ASSERT_EQ(patterns.size(), 1u) << what;
  EXPECT_EQ(patterns[0][2], T) << what;  // [B, H, T, T]: every query, every key
  EXPECT_EQ(patterns[0][3], T) << what;
  // q/k/v over T, then everything from the output projection on over P.
  std::size_t first_narrow = 0;
  while (first_narrow < rows.size() && rows[first_narrow] == T) ++first_narrow;
  EXPECT_GE(first_narrow, 1u) << what;
  EXPECT_LE(first_narrow, 3u) << what;
  EXPECT_GE(rows.size() - first_narrow, 3u) << what;  // projection, FFN, unembedding
  for (std::size_t i = first_narrow; i < rows.size(); ++i) EXPECT_EQ(rows[i], P) << what << ", linear " << i;

  const at::Tensor full = model.forward_from(last, residual, single, &hooks, positions);
  ASSERT_EQ(narrow.sizes(), full.sizes()) << what;
  EXPECT_EQ(narrow.size(0), g.n_heads) << what;
  EXPECT_LT(max_abs_diff(narrow, full), 1e-5) << what;
  EXPECT_GT(max_abs_diff(narrow[0], narrow[1]), 1e-6) << what;  // the heads' rows differ
}

}  // namespace mechlens::testing
