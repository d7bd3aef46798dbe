#pragma once
// The SigLIP tower's tensors as a checkpoint::TensorTable (modeling_siglip.py:
// SiglipVisionEmbeddings, SiglipEncoderLayer, SiglipAttention, SiglipMLP), so a
// container (LLaVA-OneVision, Phi-4-mm) includes them in its own table and a
// whole checkpoint is validated at once.
#include <ATen/core/Tensor.h>

#include <string>

#include "checkpoint/tensor_table.hpp"
#include "models/siglip/siglip_config.hpp"
#include "models/siglip/siglip_tower.hpp"

namespace mechlens::models::siglip {

// The embeddings and the first `n_layers` encoder layers under `prefix`
// ("vision_tower.vision_model."); the post-layernorm, the pooling head and
// later layers are ignored (siglip_unused_tensors), not extra.
checkpoint::TensorTable siglip_tensor_table(const SiglipConfig& config, int n_layers, const std::string& prefix);

// The tower from a resolved table that includes siglip_tensor_table(config, n_layers, prefix).
SiglipTower load_siglip_tower(const checkpoint::TensorSet& tensors, const SiglipConfig& config, int n_layers,
                              const at::TensorOptions& options, const std::string& prefix);

}  // namespace mechlens::models::siglip
