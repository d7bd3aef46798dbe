#pragma once
// BERT's tensors: one tensor table (bert_weights.cpp) maps each tensor to its
// Hugging Face name and shape, and the loader accepts the three
// spellings found on the hub: `bert.`-prefixed (BertForMaskedLM), unprefixed
// (bare BertModel), and LayerNorm `gamma`/`beta` (older TF-converted files).
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "models/bert/bert_config.hpp"
#include "models/layers/linear.hpp"
#include "models/layers/norms.hpp"

namespace mechlens::models::bert {

struct BertLayerWeights {
  // query, key and value stacked (rows [0, D) query, [D, 2D) key, [2D, 3D)
  // value): one GEMM for the three projections.
  layers::Linear qkv;
  layers::Linear attn_out;
  layers::LayerNorm attn_ln;
  layers::Linear intermediate, output;
  layers::LayerNorm output_ln;
};

struct BertWeights {
  at::Tensor word_embeddings;        // [V, D]
  at::Tensor position_embeddings;    // [P, D]
  at::Tensor token_type_embeddings;  // [TT, D]
  layers::LayerNorm embeddings_ln;
  std::vector<BertLayerWeights> layers;
  // MLM head (cls.predictions); absent for a bare encoder.
  bool has_lm_head = false;
  layers::Linear transform;
  layers::LayerNorm transform_ln;
  layers::Linear decoder;  // weight tied to word_embeddings unless the file has its own
  std::string prefix;      // "bert." or "" as found in the file
  bool decoder_tied = true;
};

// Loads every tensor (zero-copy where the dtype matches); one error lists every
// missing, mis-shaped and left-over tensor (the pooler, the NSP head and
// position_ids buffers are no left-overs).
BertWeights load_bert_weights(const checkpoint::Checkpoint& ckpt, const BertConfig& config,
                              const at::TensorOptions& options);

// Checkpoint tensors the forward pass never needs.
const std::vector<std::string>& bert_ignorable_tensors();

}  // namespace mechlens::models::bert
