#pragma once
// Hugging Face BertForMaskedLM (or a bare BertModel encoder) as a mechlens
// Model: post-LN blocks, bidirectional attention with the padding mask,
// MLM head with the decoder tied to the word embeddings.
//
// Hook points (TransformerLens names; see hook_names()):
//   hook_embed                      word + position + token-type embeddings
//                                   AFTER the embedding LayerNorm, i.e. the
//                                   residual entering block 0 (TransformerLens'
//                                   BERT has separate hook_embed/hook_pos_embed
//                                   before its LayerNorm; we expose the summed,
//                                   normalised stream, which is what block 0 reads)
//   blocks.L.hook_resid_pre         [B, T, D]
//   blocks.L.attn.hook_q/k/v        [B, T, H, dh]
//   blocks.L.attn.hook_attn_scores  [B, H, T, T] scaled, padded keys at the dtype's lowest
//   blocks.L.attn.hook_pattern      [B, H, T, T]
//   blocks.L.attn.hook_z            [B, T, H, dh]
//   blocks.L.hook_attn_out          [B, T, D] after the output dense, before the residual add
//   blocks.L.hook_mlp_out           [B, T, D] after the output dense, before the residual add
//   blocks.L.hook_resid_post        [B, T, D] after the block's second LayerNorm
//   ln_final.hook_normalized        [B, T, D] the MLM transform's output (dense, act, LayerNorm)
#include <memory>

#include "checkpoint/checkpoint.hpp"
#include "mechlens/model.hpp"
#include "models/bert/bert_config.hpp"
#include "models/bert/bert_weights.hpp"
#include "models/final_block_at.hpp"
#include "models/registry.hpp"
#include "tokenize/wordpiece.hpp"

namespace mechlens::models::bert {

class BertModel final : public Model, public FinalBlockAtPositions {
 public:
  static std::unique_ptr<BertModel> load(const LoadOptions& options);

  std::string family() const override { return "bert"; }
  Geometry geometry() const override;
  CheckpointIdentity identity() const override { return identity_; }
  std::vector<HookPoint> hook_points() const override;

  // [CLS] text [SEP]; [CLS]/[SEP] annotated special, all else text;
  // answer_position = the first [MASK], or the last position ([SEP]) when
  // the prompt has no [MASK].
  EncodedInput encode(const InputSpec& input) const override;
  // No [CLS]/[SEP]; answer_position as encode().
  EncodedInput encode_raw(const std::string& text) const override;
  std::string token_string(std::int64_t id) const override;

  at::Tensor embed(const Batch& batch, const HookSet* hooks) const override;
  at::Tensor run_blocks(at::Tensor residual, const Batch& batch, int first, int last,
                        const HookSet* hooks) const override;
  // The final block at `positions` only (models/final_block_at.hpp).
  at::Tensor run_blocks_at(at::Tensor residual, const Batch& batch, int first, const at::Tensor& positions,
                           const HookSet* hooks) const override;
  // Errors when the checkpoint has no MLM head (a bare BertModel).
  at::Tensor unembed(const at::Tensor& residual, const HookSet* hooks) const override;
  // The decoder alone (word embeddings + bias), skipping the MLM transform.
  at::Tensor unembed_unnormalized(const at::Tensor& residual) const override;
  at::TensorOptions options() const override { return options_; }

  bool has_lm_head() const { return weights_.has_lm_head; }
  const BertConfig& config() const { return config_; }
  const tokenize::WordPiece& tokenizer() const { return *tokenizer_; }
  // The toy trainer (tools/train_toys) swaps in trainable copies of the
  // loaded tensors and trains through this same forward.
  BertWeights& mutable_weights() { return weights_; }

 private:
  BertModel() = default;
  EncodedInput finish(tokenize::Encoding encoding, bool with_specials) const;
  // [B, T, H * dh] → [B, T, H, dh] (a view: columns of the stacked q/k/v output).
  at::Tensor head_view(const at::Tensor& t) const;
  // Layer w's self-attention over x [B, T, D] → z [B, T, H, dh] (hooks
  // attn.* under `scope`; `unhooked_z` as layers::attend's).
  at::Tensor self_attention(const BertLayerWeights& w, const at::Tensor& x, const at::Tensor& mask,
                            const HookScope& scope, at::Tensor* unhooked_z) const;

  std::shared_ptr<checkpoint::Checkpoint> ckpt_;  // owns the mappings the weights alias
  BertConfig config_;
  BertWeights weights_;
  std::shared_ptr<tokenize::WordPiece> tokenizer_;
  at::TensorOptions options_;
  CheckpointIdentity identity_;
};

// Tokenizer files of a BERT checkpoint: tokenizer.json when present (what
// AutoTokenizer's fast tokenizer reads), else vocab.txt with do_lower_case /
// strip_accents / tokenize_chinese_chars from tokenizer_config.json
// (do_lower_case defaults to true, as BertTokenizer's does).
tokenize::WordPiece load_bert_tokenizer(const std::string& directory);

// An encoding as BertModel::encode (with_specials) and encode_raw return it,
// from the tokenizer alone: `mechlens tokenize` needs no weights.
EncodedInput finish_bert_encoding(const tokenize::WordPiece& tokenizer, tokenize::Encoding encoding,
                                  bool with_specials);

}  // namespace mechlens::models::bert
