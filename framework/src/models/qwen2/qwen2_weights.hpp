#pragma once
// Qwen2's tensors. One tensor table (qwen2_tensor_table) names each tensor
// under the language model's prefix, which differs by container:
//   Qwen2ForCausalLM                     "model."                  + "lm_head.weight"
//   LLaVA-OneVision, hub layout          "language_model.model."   + "language_model.lm_head.weight"
//   LLaVA-OneVision, transformers >= 4.52 "model.language_model."  + "lm_head.weight"
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/tensor_table.hpp"
#include "models/layers/gated_mlp.hpp"
#include "models/layers/linear.hpp"
#include "models/layers/norms.hpp"
#include "models/qwen2/qwen2_config.hpp"

namespace mechlens::models::qwen2 {

struct Qwen2LayerWeights {
  layers::RmsNorm input_layernorm;
  layers::Linear q_proj, k_proj, v_proj;  // with bias
  layers::Linear o_proj;                  // no bias
  layers::RmsNorm post_attention_layernorm;
  layers::GatedMlp mlp;
};

struct Qwen2Weights {
  at::Tensor embed_tokens;  // [V, D]
  std::vector<Qwen2LayerWeights> layers;
  layers::RmsNorm norm;
  layers::Linear lm_head;   // weight [V, D], no bias; aliases embed_tokens when tied
  bool tied = false;
};

// Where a container keeps the language model.
struct Qwen2Names {
  std::string prefix;                      // "model." etc., before "embed_tokens.weight"
  std::vector<std::string> lm_head_names;  // spellings of the LM head, first found wins
};

// The decoder's tensors under names.prefix; the LM head is optional, its
// spellings alternatives. A container includes this in its own table.
checkpoint::TensorTable qwen2_tensor_table(const Qwen2Config& config, const Qwen2Names& names);

// Loads every tensor (zero-copy when the stored dtype is the requested one)
// from a resolved table that includes qwen2_tensor_table(config, names).
// The head is tied to embed_tokens when the config says so or when the file
// has no lm_head; a file's own lm_head under tie_word_embeddings is marked
// used and ignored, as transformers' tie_weights() does.
Qwen2Weights load_qwen2_weights(const checkpoint::TensorSet& tensors, const Qwen2Config& config,
                                const at::TensorOptions& options, const Qwen2Names& names);
// The decoder's table alone: every missing / mis-shaped tensor in one error;
// tensors outside it are the caller's business (require_all_used, or its own table).
Qwen2Weights load_qwen2_weights(const checkpoint::Checkpoint& ckpt, const Qwen2Config& config,
                                const at::TensorOptions& options, const Qwen2Names& names);

}  // namespace mechlens::models::qwen2
