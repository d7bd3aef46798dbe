#include "tiny_qwen2.hpp"

#include <cmath>
#include <filesystem>

#include "mechlens/error.hpp"
#include "tiny_bpe.hpp"

namespace mechlens::tiny {

TinyQwen2Options TinyQwen2Options::qwen2_0_5b_shaped() {
  TinyQwen2Options o;
  o.layers = 24;
  o.heads = 14;
  o.kv_heads = 2;
  o.d_model = 896;
  o.d_ff = 4864;
  o.vocab_size = 151936;
  o.max_positions = 32768;
  return o;
}

nlohmann::json qwen2_config_json(const TinyQwen2Options& o, int vocab_size) {
  return {
      {"architectures", {"Qwen2ForCausalLM"}},
      {"attention_dropout", 0.0},
      {"bos_token_id", 151643},
      {"eos_token_id", 151645},
      {"hidden_act", "silu"},
      {"hidden_size", o.d_model},
      {"initializer_range", 0.02},
      {"intermediate_size", o.d_ff},
      {"max_position_embeddings", o.max_positions},
      {"max_window_layers", o.layers},
      {"model_type", "qwen2"},
      {"num_attention_heads", o.heads},
      {"num_hidden_layers", o.layers},
      {"num_key_value_heads", o.kv_heads},
      {"rms_norm_eps", o.rms_norm_eps},
      {"rope_scaling", nullptr},
      {"rope_theta", o.rope_theta},
      {"sliding_window", nullptr},
      {"tie_word_embeddings", o.tie_word_embeddings},
      {"torch_dtype", o.dtype},
      {"use_cache", true},
      {"use_sliding_window", false},
      {"vocab_size", vocab_size},
  };
}

void add_qwen2_tensors(TensorWriter& w, const TinyQwen2Options& o, int vocab_size, const std::string& prefix,
                       const std::string& lm_head_name) {
  if (o.heads % o.kv_heads != 0 || o.d_model % o.heads != 0)
    fail("tiny qwen2", "heads " + std::to_string(o.heads) + ", kv heads " + std::to_string(o.kv_heads) +
                           ", d_model " + std::to_string(o.d_model) + " do not divide");
  const std::int64_t D = o.d_model, F = o.d_ff, dh = o.d_model / o.heads, KV = o.kv_heads * dh;
  // Embeddings at 1/sqrt(D): with the tied head the logits stay O(1) at any width.
  w.add(prefix + "embed_tokens.weight", {vocab_size, D}, 1.0 / std::sqrt(static_cast<double>(D)));
  for (int l = 0; l < o.layers; ++l) {
    const std::string b = prefix + "layers." + std::to_string(l) + ".";
    w.norm(b + "input_layernorm", D, false);
    w.linear(b + "self_attn.q_proj", D, D);
    w.linear(b + "self_attn.k_proj", KV, D);
    w.linear(b + "self_attn.v_proj", KV, D);
    w.linear(b + "self_attn.o_proj", D, D, false);
    w.norm(b + "post_attention_layernorm", D, false);
    w.linear(b + "mlp.gate_proj", F, D, false);
    w.linear(b + "mlp.up_proj", F, D, false);
    w.linear(b + "mlp.down_proj", D, F, false);
  }
  w.norm(prefix + "norm", D, false);
  if (!o.tie_word_embeddings) w.linear(lm_head_name.substr(0, lm_head_name.size() - 7), vocab_size, D, false);
}

void write_tiny_qwen2(const std::string& directory, const TinyQwen2Options& o) {
  namespace fs = std::filesystem;
  const fs::path dir(directory);
  fs::create_directories(dir);
  const TinyBpe bpe = train_tiny_bpe(o.merges);
  const std::vector<AddedToken> added = {{"<|endoftext|>"}, {"<|im_start|>"}, {"<|im_end|>"}};
  const int tokenizer_size = static_cast<int>(bpe.vocab.size() + added.size());
  const int vocab_size = o.vocab_size > 0 ? o.vocab_size : (tokenizer_size + 63) / 64 * 64;
  if (vocab_size < tokenizer_size)
    fail("tiny qwen2", "vocab_size " + std::to_string(vocab_size) + " is smaller than the tokenizer (" +
                           std::to_string(tokenizer_size) + ")");

  TensorWriter w(o.seed, o.dtype);
  add_qwen2_tensors(w, o, vocab_size, "model.", "lm_head.weight");
  w.write(directory);
  write_text_file((dir / "config.json").string(), qwen2_config_json(o, vocab_size).dump(2) + "\n");
  write_text_file((dir / "tokenizer.json").string(), tiny_tokenizer_json(bpe, added).dump(2) + "\n");
  nlohmann::json decoder = nlohmann::json::object();
  for (std::size_t i = 0; i < added.size(); ++i)
    decoder[std::to_string(bpe.vocab.size() + i)] = {{"content", added[i].content}, {"lstrip", false},
                                                     {"normalized", false},     {"rstrip", false},
                                                     {"single_word", false},    {"special", true}};
  const nlohmann::json tokenizer_config = {
      {"add_prefix_space", false},
      {"added_tokens_decoder", decoder},
      {"additional_special_tokens", {"<|im_start|>", "<|im_end|>"}},
      {"bos_token", nullptr},
      {"clean_up_tokenization_spaces", false},
      {"eos_token", "<|endoftext|>"},
      {"errors", "replace"},
      {"model_max_length", o.max_positions},
      {"pad_token", "<|endoftext|>"},
      {"split_special_tokens", false},
      {"tokenizer_class", "Qwen2Tokenizer"},
      {"unk_token", nullptr},
  };
  write_text_file((dir / "tokenizer_config.json").string(), tokenizer_config.dump(2) + "\n");
}

}  // namespace mechlens::tiny
