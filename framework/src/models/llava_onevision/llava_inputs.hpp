#pragma once
// What encode() needs from the tokenizer and the image processor, as two
// small interfaces: the adapter's prompt logic (llava_prompt.cpp) is written
// against them, and llava_inputs.cpp binds them to the framework's byte-level
// BPE (tokenize/) and LLaVA-OneVision image processor (vision/).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/llava_onevision/llava_config.hpp"

namespace mechlens::models::llava_onevision {

class LlavaTokenizer {
 public:
  virtual ~LlavaTokenizer() = default;
  // Added/special tokens (<|im_start|>, <image>, ...) matched before BPE; no BOS/EOS added (Qwen2 adds none).
  virtual std::vector<std::int64_t> encode(const std::string& text) const = 0;
  virtual std::string token(std::int64_t id) const = 0;  // vocabulary spelling
  virtual std::optional<std::int64_t> find(const std::string& token) const = 0;
  virtual std::size_t vocab_size() const = 0;
};

struct PreprocessedImage {
  at::Tensor pixel_values;  // [1 + tiles, 3, S, S] float32, base image first
  int height = 0;           // original size
  int width = 0;
  std::int64_t expected_tokens = -1;  // the processor's image-token count rule (-1: not known)
};

class LlavaImageProcessor {
 public:
  virtual ~LlavaImageProcessor() = default;
  virtual PreprocessedImage preprocess(const std::string& path) const = 0;
};

// tokenizer.json of the checkpoint directory.
std::shared_ptr<const LlavaTokenizer> load_llava_tokenizer(const std::string& directory);
// preprocessor_config.json of the checkpoint directory (checked against config.json's pinpoints).
std::shared_ptr<const LlavaImageProcessor> load_llava_processor(const std::string& directory, const LlavaConfig& config);

}  // namespace mechlens::models::llava_onevision
