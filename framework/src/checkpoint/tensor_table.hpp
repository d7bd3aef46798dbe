#pragma once
// One declarative table of the tensors an adapter reads from a checkpoint,
// checked in one go: every missing, mis-shaped and unclaimed ("extra") tensor
// is reported in ONE error naming the directory and the file(s), instead of
// the load stopping at the first problem. Modelled on llama.cpp's
// per-architecture tensor-name tables (a logical tensor -> a name pattern with
// the block index, required or TENSOR_NOT_REQUIRED) and CTranslate2's
// converter `validate` (collect every problem, then raise once).
//
// Usage (an adapter):
//
//   checkpoint::TensorTable table("qwen2");
//   table.add("model.embed_tokens.weight", {V, D});
//   table.add("model.layers.{i}.self_attn.q_proj.weight", {H * d, D}).layers(n_layers);
//   table.add("lm_head.weight", {V, D}).optional();
//   // Alternative spellings, first found wins (per layer):
//   table.add("model.layers.{i}.self_attn.qkv_proj.base_layer.weight", {Q, D})
//        .or_named("model.layers.{i}.self_attn.qkv_proj.weight").layers(n_layers);
//   table.ignore("*.rotary_emb.inv_freq");        // in files, never needed (glob: '*' any run, '?' one)
//   const checkpoint::TensorSet t = table.resolve(ckpt);  // throws once, listing every problem
//   at::Tensor q = t.load("model.layers.{i}.self_attn.q_proj.weight", options, /*layer=*/3);
//   if (t.spelling("model.layers.{i}.self_attn.qkv_proj.base_layer.weight", 0) == 1) ...  // plain layout
//
// Rules:
//  - An entry's KEY is its first spelling, exactly as passed to add(); TensorSet
//    looks entries up by that key (and the layer index for per-layer entries).
//  - "{i}" in a spelling is the layer index; an entry with .layers(n) expands to
//    i = 0 .. n-1 and every spelling must contain "{i}". Entries without .layers()
//    must not contain "{i}".
//  - Shapes are exact ({} = a scalar). .any_shape() skips the check.
//  - .optional(): absence is no problem; TensorSet::has() says whether it is there.
//  - Extra: any checkpoint tensor no entry resolved to and no ignore() glob
//    matches. A spelling that is present but lost to an earlier one is extra too
//    (a file holding both layouts is suspicious), unless ignored.
//  - include(other) appends another table's entries and globs (a container model
//    built from parts: the decoder's table + the vision tower's + the projector's),
//    so the whole checkpoint is validated at once. Keys must stay unique.
//  - resolve(ckpt, Extras::allow) skips the extra check (a part validated alone).
//  - TensorSet::load marks the tensor used in the Checkpoint (its require_all_used
//    bookkeeping keeps working) and loads zero-copy where the dtype matches.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint.hpp"

namespace mechlens::checkpoint {

using Shape = std::vector<std::int64_t>;

// One logical tensor: its spellings (first found wins), expected shape, how
// many layers it repeats over, whether it may be absent.
struct TensorEntry {
  std::vector<std::string> spellings;  // [0] is the key
  Shape shape;
  bool check_shape = true;
  int n_layers = 0;  // 0 = a single tensor; n = one per layer, "{i}" in 0..n-1
  bool is_optional = false;

  const std::string& key() const { return spellings.front(); }
  // Builder calls (chainable on the reference add() returns).
  TensorEntry& or_named(std::string alternative) { spellings.push_back(std::move(alternative)); return *this; }
  TensorEntry& layers(int n) { n_layers = n; return *this; }
  TensorEntry& optional(bool yes = true) { is_optional = yes; return *this; }
  TensorEntry& any_shape() { check_shape = false; return *this; }
};

enum class Extras { refuse, allow };

class TensorSet;

class TensorTable {
 public:
  // `what` names the model/part in the error ("qwen2", "llava_onevision").
  explicit TensorTable(std::string what = "model") : what_(std::move(what)) {}

  // The returned reference is valid until the next add()/include().
  TensorEntry& add(std::string name, Shape shape);
  TensorTable& ignore(std::string glob);
  TensorTable& include(const TensorTable& other);

  const std::string& what() const { return what_; }
  const std::vector<TensorEntry>& entries() const { return entries_; }
  const std::vector<std::string>& ignored() const { return ignored_; }

  // Resolves every entry against `ckpt`; throws one mechlens::Error listing
  // all missing, mis-shaped and (Extras::refuse) extra tensors.
  TensorSet resolve(const Checkpoint& ckpt, Extras extras = Extras::refuse) const;

 private:
  std::string what_;
  std::vector<TensorEntry> entries_;
  std::vector<std::string> ignored_;
};

// "{i}" replaced by `layer` (names without "{i}" come back unchanged).
std::string expand_layer(const std::string& pattern, int layer);

// What resolve() found: for each entry (and layer), the name in the file and
// which spelling it was. Refers to the Checkpoint: keep that alive.
class TensorSet {
 public:
  struct Found {
    std::string name;   // as in the file; empty when an optional entry is absent
    int spelling = -1;  // index into the entry's spellings; -1 = absent
  };

  const Checkpoint& checkpoint() const { return *ckpt_; }
  // layer = -1 for single tensors. Unknown keys / layers are errors naming the key.
  bool has(const std::string& key, int layer = -1) const;
  const std::string& name(const std::string& key, int layer = -1) const;  // error if absent
  int spelling(const std::string& key, int layer = -1) const;            // -1 if absent
  // The tensor as `options` (see Checkpoint::load); error if absent.
  at::Tensor load(const std::string& key, const at::TensorOptions& options, int layer = -1) const;
  // An optional tensor, or an undefined tensor when absent.
  at::Tensor load_if_present(const std::string& key, const at::TensorOptions& options, int layer = -1) const;

 private:
  friend class TensorTable;
  const Found& find(const std::string& key, int layer) const;
  const Checkpoint* ckpt_ = nullptr;
  std::map<std::string, TensorEntry> entries_;  // by key
  std::map<std::pair<std::string, int>, Found> found_;
};

}  // namespace mechlens::checkpoint
