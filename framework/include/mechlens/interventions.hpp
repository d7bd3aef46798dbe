#pragma once
// Interventions are framework primitives, written once and used by every
// plugin. Each is batched: row b of the forward carries its own intervention.
#include <ATen/core/Tensor.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "mechlens/hooks.hpp"
#include "mechlens/model.hpp"

namespace mechlens {

enum class HeadAblation {
  zero,      // head output (hook_z) set to 0 (seed 000)
  identity,  // head attends only to its own position: z_t = v_t
  mean,      // z replaced by its mean over the (unpadded) positions
};
HeadAblation parse_head_ablation(const std::string& name);  // "zero" | "identity" | "mean"
const char* to_string(HeadAblation kind);

struct LayerHead {
  int layer = 0;
  int head = 0;
};

// Row b of the batch ablates rows[b] (nullopt = clean row). Registers the
// hooks on `hooks`. If the forward reaching a hook has batch 1 while
// rows.size() > 1, the hook expands the batch to rows.size() (prefix reuse).
void add_head_ablations(HookSet& hooks, const Geometry& geometry,
                        const std::vector<std::optional<LayerHead>>& rows, HeadAblation kind);

// As above, with the batch's padding mask ([B, T] or [1, T] bool, true = real
// token): the mean ablation then averages over the row's real tokens only.
// (Without a mask it averages over every position.)
void add_head_ablations(HookSet& hooks, const Geometry& geometry,
                        const std::vector<std::optional<LayerHead>>& rows, HeadAblation kind,
                        const at::Tensor& attention_mask);

// Attribution patching (Nanda 2023; TransformerLens' Attribution_Patching_Demo):
// the change of a metric when head h of layer l is ablated, estimated to first
// order as sum over positions and d_head of dM/dz * (z_ablated - z) at
// hook_z, for every head from one clean forward and one backward per metric.
// `metrics` map the logits at `positions` ([P, vocab], float64,
// differentiable) to a scalar. Returns [metrics, n_layers, n_heads] float64
// and the clean logits ([P, vocab]) in `clean_logits` when given.
using LogitMetric = std::function<at::Tensor(const at::Tensor& logits)>;
at::Tensor attribute_head_ablations(const Model& model, const Batch& single, HeadAblation kind,
                                    const at::Tensor& positions, const std::vector<LogitMetric>& metrics,
                                    at::Tensor* clean_logits = nullptr);

// Logits at `positions` for every head of `layer` ablated in turn, one row
// per head ([n_heads, P, vocab]), for one input. Reuses everything the
// ablation cannot change: blocks before `layer` (from `resid_pre`, the
// residual entering `layer`, batch 1), and the layer's own q/k/v and pattern.
at::Tensor ablate_each_head(const Model& model, const Batch& single, const at::Tensor& resid_pre,
                            int layer, HeadAblation kind, const at::Tensor& positions,
                            const std::vector<int>& heads = {});

// Attention knockout (seed 004): row b of the batch blocks, in every head of
// the layers first_layer..last_layer (inclusive), the attention edges from
// each query position in `queries` to each key position in `keys`, before the
// softmax (through blocks.L.attn.hook_attn_mask: a blocked edge gets exactly
// zero weight on every attention path; a query row whose every key is
// blocked gets an all-zero pattern, i.e. attends to nothing, as fully masked
// rows do). nullopt or empty queries/keys = a clean row. A forward reaching
// the hook at batch 1 is expanded to rows.size() (prefix reuse).
struct KnockoutRow {
  int first_layer = 0;
  int last_layer = 0;
  std::vector<std::int64_t> queries;
  std::vector<std::int64_t> keys;
};
void add_attention_knockout(HookSet& hooks, const Geometry& geometry, const std::vector<std::optional<KnockoutRow>>& rows);

// One clean forward: the residual entering each layer (resid_pre[l] is
// blocks.l.hook_resid_pre, [B, T, d_model], n_layers entries) and the logits
// at `positions` — what a sweep needs to resume with forward_from.
struct CleanRun {
  std::vector<at::Tensor> resid_pre;
  at::Tensor logits;
};
CleanRun capture_resid_pre(const Model& model, const Batch& batch, const at::Tensor& positions = {});

// AtMan's score edit (Deiseroth et al.; code Aleph-Alpha/AtMan): at every
// chosen layer (empty = all), each raw query.key score row
// (hook_attn_scores_unmasked, before any mask) is shifted by its minimum over
// the whole row, future keys included, so every entry is >= 0; then key
// column j is multiplied by factors[b][j] for every query and head; the mask
// and softmax follow. `factors` is [R, T] (row b of the forward carries row
// b; T = the key count). Softmax ignores the shift, and scaling before or
// after 1/sqrt(d) commutes, so this is the authors' edit. A row whose
// factors are all exactly 1 is left untouched (bit-identical to no edit). A
// forward that reaches the hook at batch 1 is expanded to R rows there.
void add_attention_suppression(HookSet& hooks, const Geometry& geometry, const at::Tensor& factors,
                               const std::vector<int>& layers = {});

// AtMan's factor rows, one per explained position ([R, T] float32 on CPU):
// row r multiplies key explained[r] by `factor`; with `conceptual`
// (correlated suppression) every other position t whose embedding has cosine
// >= kappa with the explained one gets factor + (1 - factor)(1 - cos) too.
// `embeds` [T, D] are the language model's input embeddings (cosine in
// float32, as the authors' code).
at::Tensor suppression_factors(const at::Tensor& embeds, const std::vector<std::int64_t>& explained, double factor,
                               bool conceptual, double kappa);

// Cross-entropy of target token ids[p] read at positions[p] ([P] each), for
// one input under each factor row ([R, T]) → [R, P] float64. Everything runs
// from the cached input embeddings (`embeds`, the residual entering block 0,
// batch 1) at most max_batch rows per forward. A row whose factors are all 1
// suppresses nothing: its cross-entropy is the clean one exactly, no forward.
//
// Prefix reuse: given `clean_kv` (the keys/values clean_cross_entropy
// recorded) and a model that reuses_prefix(), rows are ordered by their
// first suppressed key (the smallest column whose factor != 1: correlated
// suppression may reach before the explained token) and each chunk runs
// only the positions from its chunk's smallest such key on, with the clean
// keys/values before it (queries there cannot see any suppressed key; the
// score rows stay whole, so the row minimum is the same). Targets read
// before that key get the clean cross-entropy (`clean_ce` when given).
at::Tensor suppressed_cross_entropy(const Model& model, const Batch& single, const at::Tensor& embeds,
                                    const at::Tensor& factors, const std::vector<int>& layers,
                                    const at::Tensor& positions, const at::Tensor& ids, std::int64_t max_batch,
                                    const KeyValueCache* clean_kv = nullptr, const at::Tensor& clean_ce = {});

// The same cross-entropy for the clean forward ([P] float64). `record`: when
// given and the model reuses_prefix(), filled with the forward's keys/values
// (for suppressed_cross_entropy's prefix reuse).
at::Tensor clean_cross_entropy(const Model& model, const Batch& single, const at::Tensor& embeds,
                               const at::Tensor& positions, const at::Tensor& ids, KeyValueCache* record = nullptr);

// Forward-equivalents suppressed_cross_entropy spends on the rows of
// `factors` ([R, T]) with targets read at `positions`: per forward, rows x
// run positions / T (rows with every factor 1 cost nothing); `prefix_reuse`
// as with clean_kv given to a model that reuses prefixes.
double suppression_forwards(const at::Tensor& factors, const at::Tensor& positions, std::int64_t max_batch,
                            bool prefix_reuse);

}  // namespace mechlens
