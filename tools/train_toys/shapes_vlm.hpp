#pragma once
// The toy vision-language model: a LLaVA-OneVision-layout checkpoint (2-layer
// SigLIP-style tower on 48 px crops of 8 px patches, projector, 2-layer Qwen2
// decoder, d 64) trained on generated shape images (shapes_dataset.hpp) to
// answer "What colour is the shape?" and "Is the shape on the left?" with one
// token at the last prompt position. The prompt is the adapter's own chat
// template with the image placeholder expanded as the adapter does it, and
// the forward pass is the adapter's code (SiglipTower, Projector,
// pack_image_features, Qwen2Decoder) over trainable copies of the weights.
//
// The trainer checks the planted route: replacing the object's image-token
// rows of the language model's input by the image's mean image-token row must
// cost far more accuracy than replacing as many random image tokens; both
// figures go into mechanisms.json beside the checkpoint.
#include <cstdint>
#include <string>

namespace mechlens::toys {

struct ShapesOptions {
  int steps = 400;
  int batch = 32;          // colour questions per step (plus batch / 2 left/right questions)
  double lr = 3e-3;
  double interchange = 0.5;  // fraction of rows trained with another image's background tokens (shapes_vlm.cpp)
  int held_out = 400;      // in-memory held-out images for the figures
  std::uint64_t seed = 1;
  std::string data_dir;    // if set: also write the committed held-out PNG set there
  int data_images = 40;
};

// Writes config.json, preprocessor_config.json, tokenizer files,
// model.safetensors and mechanisms.json into `directory`.
void train_shapes_vlm(const std::string& directory, const ShapesOptions& options);

}  // namespace mechlens::toys
