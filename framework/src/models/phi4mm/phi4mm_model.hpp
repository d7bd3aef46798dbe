#pragma once
// Phi-4-multimodal (microsoft/Phi-4-multimodal-instruct) as a mechlens Model,
// adapter "phi4mm", serving config.json model_type "phi4mm" (the hub's
// remote-code checkpoint) and "phi4_multimodal" (transformers' native
// conversion). Text side: the Phi-4-mini decoder (phi4mm_decoder.hpp) with
// the vision LoRA on the rows whose input has an image and off for text-only
// inputs, the o200k tokenizer from tokenizer.json and the chat format
// <|user|>…<|end|><|assistant|> (phi4mm_tokenizer.hpp). The image side (HD
// transform, SigLIP tower, separators, <|image_1|> expansion) lives in
// phi4mm_hd_transform.* and phi4mm_image_*: an image input's prompt is
// "<|user|>" + the image tokens + text + "<|end|><|assistant|>" (the
// processor's <|image_1|> right after <|user|>), its rows placed at those
// tokens in embed(). A checkpoint whose config has no image encoder
// (embd_layer.image_embd_layer / vision_config) loads text-only.
// Speech LoRA and the audio encoder are not loaded; an audio input is an error.
//
// Hook points: hook_embed and hook_inputs_embeds [batch, pos, d_model]
// (token embeddings; after image features are placed), the decoder's, then
// the image encoder's vision.* (phi4mm_image_encoder.hpp).
// Provenance (identity().format): "hf-phi4mm/<remote-code|native>/lora-<runtime|merged|none>".
#include <memory>
#include <optional>

#include "checkpoint/checkpoint.hpp"
#include "mechlens/model.hpp"
#include "models/final_block_at.hpp"
#include "models/phi4mm/phi4mm_decoder.hpp"
#include "models/phi4mm/phi4mm_image_encoder.hpp"
#include "models/phi4mm/phi4mm_lora.hpp"
#include "models/phi4mm/phi4mm_tokenizer.hpp"
#include "models/registry.hpp"
#include "tokenize/bpe.hpp"

namespace mechlens::models::phi4mm {

class Phi4mmModel final : public Model, public FinalBlockAtPositions {
 public:
  // The vision LoRA runs as options.lora says (the recipe's model.lora).
  static std::unique_ptr<Phi4mmModel> load(const LoadOptions& options);

  std::string family() const override { return "phi4mm"; }
  Geometry geometry() const override { return decoder_.geometry(); }
  CheckpointIdentity identity() const override { return identity_; }
  std::vector<HookPoint> hook_points() const override;

  EncodedInput encode(const InputSpec& input) const override;
  EncodedInput encode_raw(const std::string& text) const override;
  std::string token_string(std::int64_t id) const override;

  at::Tensor embed(const Batch& batch, const HookSet* hooks) const override;
  at::Tensor run_blocks(at::Tensor residual, const Batch& batch, int first, int last,
                        const HookSet* hooks) const override;
  // The final block at the answer rows only (the decoder's run_blocks_at).
  at::Tensor run_blocks_at(at::Tensor residual, const Batch& batch, int first, const at::Tensor& positions,
                           const HookSet* hooks) const override {
    return decoder_.run_blocks_at(std::move(residual), batch.attention_mask, lora_rows(batch), first, positions, hooks);
  }
  at::Tensor unembed(const at::Tensor& residual, const HookSet* hooks) const override;
  at::Tensor unembed_unnormalized(const at::Tensor& residual) const override {
    return decoder_.unembed_unnormalized(residual);
  }
  at::TensorOptions options() const override { return options_; }

  const Phi4mmDecoder& decoder() const { return decoder_; }
  const tokenize::BytePairEncoding& tokenizer() const { return *tokenizer_; }
  const ChatTokens& chat_tokens() const { return tokens_; }
  Layout layout() const { return decoder_.weights().layout; }
  LoraMode lora_mode() const { return lora_mode_; }
  // The rows of `batch` that run with the vision LoRA: those whose input has an image.
  LoraRows lora_rows(const Batch& batch) const;
  // The image encoder, or null when the checkpoint has none (image inputs are then refused).
  const Phi4mmImageEncoder* image_encoder() const { return image_encoder_ ? &*image_encoder_ : nullptr; }

 private:
  Phi4mmModel() = default;
  std::shared_ptr<checkpoint::Checkpoint> ckpt_;  // owns the mappings the weights alias
  Phi4mmDecoder decoder_;
  std::optional<Phi4mmImageEncoder> image_encoder_;
  std::shared_ptr<const tokenize::BytePairEncoding> tokenizer_;
  ChatTokens tokens_;
  LoraMode lora_mode_ = LoraMode::runtime;
  at::TensorOptions options_;
  CheckpointIdentity identity_;
};

}  // namespace mechlens::models::phi4mm
