#pragma once
// Tiny Phi-4-multimodal checkpoints for the phi4mm_* tests: written into a
// scratch folder (either layout), loaded with a LoRA mode, and batches whose
// rows carry (or not) an image so that the vision LoRA turns on without the
// image encoder (the decoder only asks whether the input has an image).
#include <ATen/ATen.h>

#include <memory>
#include <string>

#include "models/phi4mm/phi4mm_model.hpp"
#include "tiny_bert_support.hpp"  // Scratch, max_abs_diff
#include "tiny_phi4mm.hpp"

namespace mechlens::testing {

inline std::unique_ptr<models::phi4mm::Phi4mmModel> tiny_phi4mm(const Scratch& scratch, const std::string& name,
                                                               const tiny::TinyPhi4mmOptions& options = {},
                                                               models::phi4mm::LoraMode lora = models::phi4mm::LoraMode::runtime,
                                                               const std::string& dtype = "float32") {
  const std::string dir = scratch.path(name);
  if (!std::filesystem::exists(dir + "/config.json")) tiny::write_tiny_phi4mm(dir, options);
  models::LoadOptions load;
  load.path = dir;
  load.dtype = dtype;
  load.lora = models::phi4mm::to_string(lora);
  return models::phi4mm::Phi4mmModel::load(load);
}

// A batch of `ids` [B, T] (all real tokens but the right-padded tail of row b
// given by `pad`), whose row b has an image when with_image[b].
struct PhiBatch {
  std::vector<EncodedInput> inputs;
  Batch batch;
};
inline PhiBatch phi_batch(const at::Tensor& ids, const at::Tensor& mask, const std::vector<bool>& with_image) {
  PhiBatch p;
  p.inputs.resize(ids.size(0));
  for (std::int64_t b = 0; b < ids.size(0); ++b)
    if (with_image[b]) p.inputs[b].spec.image = "/nonexistent/only-marks-the-row.png";
  p.batch.ids = ids;
  p.batch.attention_mask = mask;
  for (auto& in : p.inputs) p.batch.inputs.push_back(&in);
  return p;
}

}  // namespace mechlens::testing
