#pragma once
// What every Llama-style decoder config shares (Qwen2, Phi-4-mini): its
// sizes must be positive and the KV heads must divide the query heads, and
// its Geometry reads the same fields. `Sizes` is the adapter's config struct
// (hidden_size, num_layers, num_heads, num_kv_heads, head_dim,
// intermediate_size, vocab_size).
#include <string>

#include "checkpoint/config.hpp"
#include "mechlens/error.hpp"
#include "mechlens/model.hpp"

namespace mechlens::models {

// `key` of config.json must be positive.
inline void require_positive(const checkpoint::Config& config, const char* key, int value) {
  if (value <= 0) fail(config.where(key), "must be positive, got " + std::to_string(value));
}

template <typename Sizes>
void check_decoder_sizes(const checkpoint::Config& config, const Sizes& c) {
  require_positive(config, "hidden_size", c.hidden_size);
  require_positive(config, "num_hidden_layers", c.num_layers);
  require_positive(config, "num_attention_heads", c.num_heads);
  require_positive(config, "num_key_value_heads", c.num_kv_heads);
  require_positive(config, "intermediate_size", c.intermediate_size);
  require_positive(config, "vocab_size", c.vocab_size);
  if (c.num_heads % c.num_kv_heads != 0)
    fail(config.where("num_key_value_heads"),
         std::to_string(c.num_kv_heads) + " does not divide num_attention_heads " + std::to_string(c.num_heads));
}

template <typename Sizes>
Geometry causal_decoder_geometry(const Sizes& c) {
  Geometry g;
  g.n_layers = c.num_layers;
  g.n_heads = c.num_heads;
  g.n_kv_heads = c.num_kv_heads;
  g.d_head = c.head_dim;
  g.d_model = c.hidden_size;
  g.vocab_size = c.vocab_size;
  g.causal = true;
  return g;
}

}  // namespace mechlens::models
