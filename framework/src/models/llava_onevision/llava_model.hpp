#pragma once
// Hugging Face LlavaOnevisionForConditionalGeneration as a mechlens Model:
// SigLIP tower → the feature layer's hidden state → projector (linear, GELU,
// linear) → pack_image_features (base crop, unpadded high-res grid with
// image_newline per row, anyres_max_9 downscale) → scattered into the
// prompt's image positions → the Qwen2 decoder.
//
// Hook points: the decoder's (see qwen2_decoder.hpp) plus
//   hook_embed            [B, T, D] token embeddings (image positions hold <image>'s embedding)
//   hook_inputs_embeds    [B, T, D] after the image features are scattered in: the residual entering block 0
//   vision.hook_embed, vision.blocks.L.*   the tower (batch = every crop of every image in the batch)
//   vision.hook_features  [N, P, Dv] the selected hidden state(s) after the select strategy
//   vision.hook_projected [N, P, D] the projector's output, before packing
// Annotations: image tokens carry crop 0 (the base image) with (row, col) in
// its side x side grid, or crop 1 (the packed high-res grid) with (row, col)
// in that grid; newline tokens are crop 1 with col = the grid's width.
// Template tokens (<|im_start|>user ..., <|im_end|>, assistant) are "special".
#include <memory>

#include "checkpoint/checkpoint.hpp"
#include "mechlens/error.hpp"
#include "mechlens/model.hpp"
#include "models/final_block_at.hpp"
#include "models/llava_onevision/llava_config.hpp"
#include "models/llava_onevision/llava_packing.hpp"
#include "models/llava_onevision/llava_weights.hpp"
#include "models/qwen2/qwen2_decoder.hpp"
#include "models/registry.hpp"
#include "models/siglip/siglip_tower.hpp"
#include "tokenize/bpe.hpp"

namespace mechlens::models::llava_onevision {

class LlavaImageProcessor;

class LlavaOnevisionModel final : public Model, public FinalBlockAtPositions {
 public:
  static std::unique_ptr<LlavaOnevisionModel> load(const LoadOptions& options);
  // config.json, the tokenizer and preprocessor_config.json alone, no weights
  // (`mechlens tokenize`: an 11 GB checkpoint need not be opened, a folder
  // without its safetensors works): encode, encode_raw and token_string only;
  // embed, run_blocks and unembed refuse.
  static std::unique_ptr<LlavaOnevisionModel> load_encoder(const std::string& directory);
  ~LlavaOnevisionModel() override;

  std::string family() const override { return "llava_onevision"; }
  Geometry geometry() const override { return decoder_.geometry(); }
  CheckpointIdentity identity() const override { return identity_; }
  std::vector<HookPoint> hook_points() const override;

  // Chat template, tokenizer, image preprocessing, <image> expanded to the
  // packed feature count; extras: "pixel_values" [N, 3, S, S] float32 and
  // "image_size" [2] int64 (height, width).
  EncodedInput encode(const InputSpec& input) const override;
  EncodedInput encode_raw(const std::string& text) const override;
  std::string token_string(std::int64_t id) const override;

  at::Tensor embed(const Batch& batch, const HookSet* hooks) const override;
  at::Tensor run_blocks(at::Tensor residual, const Batch& batch, int first, int last,
                        const HookSet* hooks) const override;
  // Prefix reuse through the shared decoder (layers::CausalPass): the
  // residual of the run positions already holds the image features.
  bool reuses_prefix() const override { return true; }
  at::Tensor run_blocks_reusing(at::Tensor residual, const Batch& batch, int first, int last, const HookSet* hooks,
                                const PrefixReuse& reuse) const override {
    if (!ckpt_) fail("llava_onevision", "run_blocks_reusing: loaded for encoding only (no weights)");
    return decoder_.run_blocks(std::move(residual), batch.attention_mask, first, last, hooks, &reuse);
  }
  // The final block at the answer rows only (the decoder's run_blocks_at).
  at::Tensor run_blocks_at(at::Tensor residual, const Batch& batch, int first, const at::Tensor& positions,
                           const HookSet* hooks) const override {
    require_weights("run_blocks_at");
    return decoder_.run_blocks_at(std::move(residual), batch.attention_mask, first, positions, hooks);
  }
  at::Tensor unembed(const at::Tensor& residual, const HookSet* hooks) const override;
  at::Tensor unembed_unnormalized(const at::Tensor& residual) const override {
    require_weights("unembed_unnormalized");
    return decoder_.unembed_unnormalized(residual);
  }
  at::TensorOptions options() const override { return options_; }

  const LlavaConfig& config() const { return config_; }
  const qwen2::Qwen2Decoder& decoder() const { return decoder_; }
  const LlavaLayout& layout() const { return *layout_; }
  const tokenize::BytePairEncoding& tokenizer() const { return *tokenizer_; }
  // The packing of an image of this (height, width) under this checkpoint's config.
  PackLayout pack_layout_for(int height, int width) const;
  // Projected, packed features of one image: pixels [1 + tiles, 3, S, S] → [tokens, D].
  at::Tensor image_features(const at::Tensor& pixels, int height, int width, const HookSet* hooks) const;
  // The prompt string the chat template makes (no image expansion).
  static std::string prompt(const std::string& text, bool with_image);

 private:
  LlavaOnevisionModel() = default;
  void require_weights(const char* what) const;
  // Features for every crop of several images at once (one tower pass).
  std::vector<at::Tensor> image_features_batch(const std::vector<const EncodedInput*>& images, const HookSet* hooks) const;

  std::shared_ptr<checkpoint::Checkpoint> ckpt_;  // owns the mappings the weights alias
  LlavaConfig config_;
  const LlavaLayout* layout_ = nullptr;
  qwen2::Qwen2Decoder decoder_;
  siglip::SiglipTower tower_;
  Projector projector_;
  at::Tensor image_newline_;  // [D]
  std::shared_ptr<const tokenize::BytePairEncoding> tokenizer_;
  std::shared_ptr<const LlavaImageProcessor> processor_;
  at::TensorOptions options_;
  CheckpointIdentity identity_;
};

}  // namespace mechlens::models::llava_onevision
