#pragma once
// A linear layer with Phi-4-mm's vision LoRA (PEFT LoraLayer, modality
// "vision": r 256, alpha 512 on qkv_proj, o_proj, gate_up_proj, down_proj):
//   y = W0 x + (alpha / r) * B (A x)
// applied only to the batch rows whose input has an image (Phi4MMForCausalLM
// sets the vision adapter for an image input and unsets every adapter for
// text). Two ways to the same numbers:
//   runtime  the low-rank path added to the base output (no extra weights);
//   merged   W0 + (alpha / r) * B A computed once at load (float32 then the
//            model dtype, as PEFT's merge), one matmul per call, the base kept
//            for text rows: twice the decoder's weight memory.
// Either way the hooks after the layer see the sum.
#include <ATen/core/Tensor.h>

#include <string>

#include "models/layers/linear.hpp"

namespace mechlens::models::phi4mm {

enum class LoraMode { runtime, merged };
LoraMode parse_lora_mode(const std::string& name);  // "runtime" | "merged", error names model.lora
const char* to_string(LoraMode mode);

// Which rows of a batch run with the vision LoRA.
struct LoraRows {
  bool active = false;  // no row has an image: the base weights alone
  at::Tensor mask;      // [B, 1, 1] bool, true = LoRA on; undefined = every row
};

struct LoraLinear {
  layers::Linear base;  // W0 [out, in], no bias
  at::Tensor a;         // A [r, in]  (runtime mode; undefined without LoRA)
  at::Tensor b;         // B [out, r]
  double scale = 0.0;   // alpha / r
  at::Tensor merged;    // W0 + scale * B A (merged mode)

  bool has_lora() const { return a.defined() || merged.defined(); }
  // Folds the low-rank path into `merged` and drops A and B.
  void merge();
  at::Tensor operator()(const at::Tensor& x, const LoraRows& rows) const;
  std::int64_t out_features() const { return base.weight.size(0); }
};

}  // namespace mechlens::models::phi4mm
