#pragma once
// The Phi-4-mini decoder's tensors in both Phi-4-multimodal layouts
// (../shared/MODELS.md "Phi-4-multimodal"):
//   remote code (hub main branch, modeling_phi4mm.py): every LoRA-wrapped
//     linear is model.layers.N.<module>.base_layer.weight with
//     .lora_A.vision.weight [r, in] / .lora_B.vision.weight [out, r]
//     (and .speech, not loaded);
//   transformers-native (convert_phi4_multimodal_weights_to_hf.py): the plain
//     model.layers.N.<module>.weight, and the vision LoRA in the checkpoint's
//     vision-lora/ folder (adapter_config.json: r, lora_alpha;
//     adapter_model.safetensors: model.layers.N.<module>.lora_A.weight, or
//     PEFT's base_model.model.model.layers.N.<module>.lora_A.weight).
// <module> is self_attn.qkv_proj (rows q, then k, then v), self_attn.o_proj,
// mlp.gate_up_proj (gate rows, then up), mlp.down_proj; no biases anywhere.
// No lm_head in either file: tied to model.embed_tokens.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/tensor_table.hpp"
#include "models/layers/norms.hpp"
#include "models/phi4mm/phi4mm_config.hpp"
#include "models/phi4mm/phi4mm_lora.hpp"

namespace mechlens::models::phi4mm {

enum class Layout { remote_code, native };
const char* to_string(Layout layout);  // "remote-code", "native"

struct Phi4mmLayerWeights {
  layers::RmsNorm input_layernorm;
  LoraLinear qkv_proj;      // [H*dh + 2*KV*dh, D]
  LoraLinear o_proj;        // [D, H*dh]
  layers::RmsNorm post_attention_layernorm;
  LoraLinear gate_up_proj;  // [2*F, D]
  LoraLinear down_proj;     // [D, F]
};

struct Phi4mmWeights {
  at::Tensor embed_tokens;  // [V, D]
  std::vector<Phi4mmLayerWeights> layers;
  layers::RmsNorm norm;
  at::Tensor lm_head;       // [V, D]; aliases embed_tokens when tied
  Layout layout = Layout::remote_code;
  bool has_vision_lora = false;
  int lora_r = 0;
  double lora_alpha = 0.0;
  std::string lora_source;  // where the LoRA came from ("config.json vision_lora", "vision-lora/adapter_config.json", "none")
};

// The decoder's tensor table for this config (the container adds the image
// encoder's table with include(); speech LoRA and the audio encoder are
// ignored by glob). `lora_r` = 0: the remote layout's LoRA entries accept any rank.
checkpoint::TensorTable phi4mm_decoder_table(const Phi4mmConfig& config, int lora_r);

// Loads the decoder from resolved tensors (zero-copy where the stored dtype
// is the requested one) and the vision LoRA of either layout; `mode` merged
// folds the LoRA into merged copies of the four matrices per layer.
Phi4mmWeights load_phi4mm_weights(const checkpoint::TensorSet& tensors, const Phi4mmConfig& config,
                                  const at::TensorOptions& options, LoraMode mode);

}  // namespace mechlens::models::phi4mm
