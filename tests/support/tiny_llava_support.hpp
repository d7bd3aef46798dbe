#pragma once
// Tiny LLaVA-OneVision checkpoints for the models suite, and inputs built by
// hand (ids with the image placeholder already expanded, random pixel
// values) so the model can be checked apart from tokenizer and processor.
#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

#include "models/llava_onevision/llava_model.hpp"
#include "tiny_llava_onevision.hpp"
#include "tiny_qwen2_support.hpp"

namespace mechlens::testing {

inline std::unique_ptr<models::llava_onevision::LlavaOnevisionModel> load_llava(const std::string& dir,
                                                                              const std::string& dtype = "float32") {
  models::LoadOptions options;
  options.path = dir;
  options.dtype = dtype;
  return models::llava_onevision::LlavaOnevisionModel::load(options);
}

// `before` text ids, the image's tokens, `after` text ids; pixel values
// uniform in [-1, 1] for every crop the layout needs.
inline EncodedInput image_input(const models::llava_onevision::LlavaOnevisionModel& model, int height, int width,
                                const std::vector<std::int64_t>& before, const std::vector<std::int64_t>& after,
                                std::uint64_t seed) {
  const auto layout = model.pack_layout_for(height, width);
  EncodedInput in;
  in.spec.id = "image_" + std::to_string(height) + "x" + std::to_string(width);
  in.ids = before;
  in.ids.insert(in.ids.end(), layout.tokens(), model.config().image_token_id);
  in.ids.insert(in.ids.end(), after.begin(), after.end());
  const int S = model.config().vision.image_size;
  at::manual_seed(seed);
  in.extras["pixel_values"] = at::rand({1 + layout.tiles(), 3, S, S}) * 2 - 1;
  in.extras["image_size"] = at::tensor(std::vector<std::int64_t>{height, width}, at::kLong);
  in.answer_position = static_cast<std::int64_t>(in.ids.size()) - 1;
  return in;
}

inline EncodedInput text_input(const std::vector<std::int64_t>& ids) {
  EncodedInput in;
  in.spec.id = "text";
  in.ids = ids;
  in.answer_position = static_cast<std::int64_t>(ids.size()) - 1;
  return in;
}

}  // namespace mechlens::testing
