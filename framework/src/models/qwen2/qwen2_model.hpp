#pragma once
// Hugging Face Qwen2ForCausalLM as a mechlens Model ("qwen2" adapter): the
// shared Qwen2 decoder (qwen2_decoder.hpp) with the checkpoint's byte-level
// BPE. For base and toy language models: a prompt is the text as given — no
// chat template, no BOS (Qwen2 adds none) — and the answer position is the
// last token.
//
// Hook points: hook_embed and hook_inputs_embeds (the same tensor, the token
// embeddings entering block 0: the second name matches the multimodal
// adapters), then the decoder's blocks.L.* and ln_final.hook_normalized.
#include <memory>

#include "checkpoint/checkpoint.hpp"
#include "mechlens/model.hpp"
#include "models/final_block_at.hpp"
#include "models/qwen2/qwen2_decoder.hpp"
#include "models/registry.hpp"
#include "tokenize/bpe.hpp"

namespace mechlens::models::qwen2 {

class Qwen2Model final : public Model, public FinalBlockAtPositions {
 public:
  static std::unique_ptr<Qwen2Model> load(const LoadOptions& options);

  std::string family() const override { return "qwen2"; }
  Geometry geometry() const override { return decoder_.geometry(); }
  CheckpointIdentity identity() const override { return identity_; }
  std::vector<HookPoint> hook_points() const override;

  // Text only (an image is an error); every token "text", special added tokens "special".
  EncodedInput encode(const InputSpec& input) const override;
  EncodedInput encode_raw(const std::string& text) const override;
  std::string token_string(std::int64_t id) const override;

  at::Tensor embed(const Batch& batch, const HookSet* hooks) const override;
  at::Tensor run_blocks(at::Tensor residual, const Batch& batch, int first, int last,
                        const HookSet* hooks) const override;
  // Prefix reuse through the shared decoder (layers::CausalPass).
  bool reuses_prefix() const override { return true; }
  at::Tensor run_blocks_reusing(at::Tensor residual, const Batch& batch, int first, int last, const HookSet* hooks,
                                const PrefixReuse& reuse) const override {
    return decoder_.run_blocks(std::move(residual), batch.attention_mask, first, last, hooks, &reuse);
  }
  // The final block at the answer rows only (the decoder's run_blocks_at).
  at::Tensor run_blocks_at(at::Tensor residual, const Batch& batch, int first, const at::Tensor& positions,
                           const HookSet* hooks) const override {
    return decoder_.run_blocks_at(std::move(residual), batch.attention_mask, first, positions, hooks);
  }
  at::Tensor unembed(const at::Tensor& residual, const HookSet* hooks) const override;
  at::Tensor unembed_unnormalized(const at::Tensor& residual) const override {
    return decoder_.unembed_unnormalized(residual);
  }
  at::TensorOptions options() const override { return options_; }

  const Qwen2Decoder& decoder() const { return decoder_; }
  const tokenize::BytePairEncoding& tokenizer() const { return *tokenizer_; }

 private:
  Qwen2Model() = default;
  std::shared_ptr<checkpoint::Checkpoint> ckpt_;  // owns the mappings the weights alias
  Qwen2Decoder decoder_;
  std::shared_ptr<const tokenize::BytePairEncoding> tokenizer_;
  at::TensorOptions options_;
  CheckpointIdentity identity_;
};

}  // namespace mechlens::models::qwen2
