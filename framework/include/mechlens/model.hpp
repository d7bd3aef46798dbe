#pragma once
// The model adapter interface: what an analysis may ask of any model family.
#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "mechlens/hooks.hpp"
#include "mechlens/input.hpp"

namespace mechlens {

struct Geometry {
  int n_layers = 0;
  int n_heads = 0;     // query heads
  int n_kv_heads = 0;  // == n_heads without GQA
  int d_head = 0;
  int d_model = 0;
  int vocab_size = 0;
  bool causal = true;  // false for BERT
};

// One prompt after tokenisation (and image preprocessing).
struct EncodedInput {
  InputSpec spec;
  std::vector<std::int64_t> ids;
  std::vector<std::string> tokens;  // token strings as the vocabulary spells them
  std::vector<TokenAnnotation> annotations;
  std::int64_t answer_position = -1;  // BERT MLM: the [MASK]; decoders: the last position
  std::map<std::string, at::Tensor> extras;  // adapter-private (pixel values, image sizes, ...)
};

// Inputs padded to one length; row b is inputs[b].
struct Batch {
  at::Tensor ids;             // [B, T] int64
  at::Tensor attention_mask;  // [B, T] bool, true = real token
  std::vector<const EncodedInput*> inputs;
};

struct CheckpointIdentity {
  std::string path;                 // checkpoint directory
  std::string config_sha256;        // of config.json
  std::vector<std::string> files;   // weight files, relative to path
  std::string tensors_sha256;       // over every tensor header (name, dtype, shape, offsets) and sampled tensor bytes
  std::string format;               // e.g. "hf-bert", "hf-llava-onevision"
};

// A hook point and the names of its tensor's axes, declared where the point
// is defined (as TransformerLens writes `# [batch, pos, head_index, d_head]`
// beside each hook). The first axis is "batch" for the language model and
// "crop" for a vision tower (every crop of every image rides in its batch).
struct HookPoint {
  std::string name;               // "blocks.3.attn.hook_z"
  std::vector<std::string> dims;  // {"batch", "pos", "head", "d_head"}
};

// Prefix reuse for causal decoders: queries before position `start` never
// see a later key, so a forward that changes nothing before `start` (AtMan's
// suppression of key `start`, say) may take the keys and values of positions
// [0, start) from an earlier forward of the same input and run only positions
// [start, T).
struct KeyValueCache {
  // Per layer, as the scores read them (after rotary): [B, T, KV heads, d_head].
  // Undefined for layers the recording forward did not run.
  std::vector<at::Tensor> keys, values;
};
struct PrefixReuse {
  std::int64_t start = 0;                 // first position run: the residual is [B, T - start, d_model]
  const KeyValueCache* prefix = nullptr;  // keys/values of at least [0, start) (batch 1 or B); needed when start > 0
  KeyValueCache* record = nullptr;        // when set: filled with every run layer's keys/values over [0, T)
};

class Model {
 public:
  virtual ~Model() = default;

  virtual std::string family() const = 0;
  virtual Geometry geometry() const = 0;
  virtual CheckpointIdentity identity() const = 0;
  // Every hook point this model offers, fully named ("blocks.0.attn.hook_q", ...),
  // with its axes.
  virtual std::vector<HookPoint> hook_points() const = 0;
  std::vector<std::string> hook_names() const;

  // The prompt as the model sees it: chat template (decoders), special tokens
  // ([CLS] … [SEP] for BERT), image placeholders expanded, annotations filled.
  virtual EncodedInput encode(const InputSpec& input) const = 0;
  // The text alone: no template, no added special tokens (`mechlens tokenize --raw`).
  virtual EncodedInput encode_raw(const std::string& text) const = 0;
  virtual Batch make_batch(const std::vector<const EncodedInput*>& inputs) const;
  // Id → token string, for reporting.
  virtual std::string token_string(std::int64_t id) const = 0;

  // Residual stream entering block 0: [B, T, d_model] (hook_embed etc. fire here).
  virtual at::Tensor embed(const Batch& batch, const HookSet* hooks) const = 0;
  // Blocks [first, last): resid_pre of `first` in, resid_post of `last-1` out.
  virtual at::Tensor run_blocks(at::Tensor residual, const Batch& batch, int first, int last,
                                const HookSet* hooks) const = 0;
  // Final norm (ln_final.hook_normalized fires) and LM head on residuals
  // [..., d_model] → logits [..., vocab].
  virtual at::Tensor unembed(const at::Tensor& residual, const HookSet* hooks) const = 0;
  // The unembedding alone, no final norm: residual x W_U (+ the decoder bias
  // where the checkpoint has one). BERT skips its MLM transform (dense, GELU,
  // LayerNorm) too. The logit lens' raw reading (seed 003).
  virtual at::Tensor unembed_unnormalized(const at::Tensor& residual) const = 0;

  // Resume from a cached residual at `layer` and return logits at `positions`
  // ([B, P] or [P] int64; undefined = every position).
  at::Tensor forward_from(int layer, at::Tensor residual, const Batch& batch, const HookSet* hooks,
                          const at::Tensor& positions = {}) const;
  at::Tensor forward(const Batch& batch, const HookSet* hooks, const at::Tensor& positions = {}) const;

  // Whether run_blocks_reusing works (causal decoders built on the shared
  // layers::CausalPass; BERT, bidirectional, cannot).
  virtual bool reuses_prefix() const { return false; }
  // run_blocks over positions [reuse.start, T) of `batch` only (T =
  // batch.ids.size(1)), reading the keys/values of [0, reuse.start) from
  // reuse.prefix; recording into reuse.record when set (start 0 and a record
  // = a plain forward that keeps its keys/values). Hooks fire over the run
  // positions only (their pos axes begin at reuse.start), except that
  // hook_attn_scores_unmasked, hook_attn_mask, hook_attn_scores and
  // hook_pattern cover every key [0, T): the raw score rows are whole.
  // Default: fails (reuses_prefix() is false).
  virtual at::Tensor run_blocks_reusing(at::Tensor residual, const Batch& batch, int first, int last,
                                        const HookSet* hooks, const PrefixReuse& reuse) const;

  // Weights' dtype and device (for building tensors that meet them).
  virtual at::TensorOptions options() const = 0;
};

// Picks rows of `values` [B, T, ...] at `positions` ([B, P] or [P]) → [B, P, ...].
at::Tensor gather_positions(const at::Tensor& values, const at::Tensor& positions);

}  // namespace mechlens
