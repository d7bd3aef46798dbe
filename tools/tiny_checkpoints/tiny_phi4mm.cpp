#include "tiny_phi4mm.hpp"

#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "checkpoint/safetensors.hpp"
#include "mechlens/error.hpp"
#include "tiny_bpe.hpp"

namespace mechlens::tiny {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const char* const kModules[] = {"self_attn.qkv_proj", "self_attn.o_proj", "mlp.gate_up_proj", "mlp.down_proj"};

// o200k's split regex as in the gpt-4o / Phi-4 tokenizer.json (Split, Removed, invert).
const char* const kO200kRegex =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

struct Sizes {
  std::int64_t D, F, Q, KV;
  std::int64_t in(int m) const { return m == 0 || m == 2 ? D : (m == 1 ? Q : F); }
  std::int64_t out(int m) const { return m == 0 ? Q + 2 * KV : (m == 2 ? 2 * F : D); }
};

// Writes `tensors` as one file or as shards with an index (name order, even split).
void write_weights(const fs::path& dir, const std::map<std::string, at::Tensor>& tensors, int shards) {
  if (shards <= 1) {
    checkpoint::write_tensors((dir / "model.safetensors").string(), tensors, {{"format", "pt"}});
    return;
  }
  std::vector<std::pair<std::string, at::Tensor>> all(tensors.begin(), tensors.end());
  const std::size_t per = (all.size() + shards - 1) / shards;
  json weight_map = json::object();
  std::int64_t total = 0;
  for (int s = 0; s < shards; ++s) {
    char file[64];
    std::snprintf(file, sizeof file, "model-%05d-of-%05d.safetensors", s + 1, shards);
    std::map<std::string, at::Tensor> part;
    for (std::size_t i = s * per; i < std::min(all.size(), (s + 1) * per); ++i) {
      part.insert(all[i]);
      weight_map[all[i].first] = file;
      total += all[i].second.numel() * all[i].second.element_size();
    }
    if (part.empty()) fail("tiny phi4mm", "more shards than tensors");
    checkpoint::write_tensors((dir / file).string(), part, {{"format", "pt"}});
  }
  write_text_file((dir / "model.safetensors.index.json").string(),
                  json{{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}}.dump(2) + "\n");
}

json rope_scaling(int rotary_dim) {
  return {{"long_factor", tiny_phi4mm_long_factors(rotary_dim / 2)},
          {"short_factor", tiny_phi4mm_short_factors(rotary_dim / 2)},
          {"type", "longrope"}};
}

json adapter_config(int r, double alpha, double dropout) {
  return {{"peft_type", "LORA"},
          {"r", r},
          {"lora_alpha", alpha},
          {"lora_dropout", dropout},
          {"target_modules", "model.layers.\\d+.((self_attn.(qkv|o)_proj)|(mlp.(gate_up|down)_proj))"},
          {"task_type", "CAUSAL_LM"},
          {"bias", "none"}};
}

}  // namespace

TinyPhi4mmOptions TinyPhi4mmOptions::phi4mm_shaped() {
  TinyPhi4mmOptions o;
  o.layers = 32;
  o.heads = 24;
  o.kv_heads = 8;
  o.d_model = 3072;
  o.d_ff = 8192;
  o.vocab_size = 200064;
  o.max_positions = 131072;
  o.original_max_positions = 4096;
  o.lora_r = 256;
  o.lora_alpha = 512;
  o.speech_lora_r = 320;
  o.speech_lora_alpha = 640;
  o.with_vision = false;
  o.shards = 3;
  o.dtype = "bfloat16";
  return o;
}

std::vector<double> tiny_phi4mm_short_factors(int n) {
  std::vector<double> f;
  for (int i = 0; i < n; ++i) f.push_back(1.0 + 0.05 * i);
  return f;
}

std::vector<double> tiny_phi4mm_long_factors(int n) {
  std::vector<double> f;
  for (int i = 0; i < n; ++i) f.push_back(1.0 + 46.77 * std::pow(static_cast<double>(i) / std::max(1, n - 1), 2.0));
  return f;
}

void write_tiny_phi4mm(const std::string& directory, const TinyPhi4mmOptions& o) {
  if (o.heads % o.kv_heads != 0 || o.d_model % o.heads != 0)
    fail("tiny phi4mm", "heads, kv heads and d_model do not divide");
  const fs::path dir(directory);
  fs::create_directories(dir);
  const int head_dim = o.d_model / o.heads;
  const int rotary_dim = static_cast<int>(head_dim * o.partial_rotary_factor);
  const Sizes s{o.d_model, o.d_ff, std::int64_t(o.heads) * head_dim, std::int64_t(o.kv_heads) * head_dim};

  // Tokenizer: a tiny BPE with Phi's added tokens (the image/audio tokens are
  // renamed by the native conversion).
  const TinyBpe bpe = train_tiny_bpe(o.merges);
  const std::vector<AddedToken> added = {
      {"<|endoftext|>"}, {o.native_layout ? "<|image|>" : "<|endoftext10|>"},
      {o.native_layout ? "<|audio|>" : "<|endoftext11|>"}, {"<|endofprompt|>"}, {"<|assistant|>"}, {"<|end|>"},
      {"<|user|>"}, {"<|system|>"}, {"<|tool|>"}, {"<|/tool|>"}, {"<|tool_call|>"}, {"<|/tool_call|>"},
      {"<|tool_response|>"}, {"<|tag|>"}};
  const int tokenizer_size = static_cast<int>(bpe.vocab.size() + added.size());
  const int vocab_size = o.vocab_size > 0 ? o.vocab_size : (tokenizer_size + 63) / 64 * 64;
  const int image_token_id = static_cast<int>(bpe.vocab.size()) + 1;
  if (vocab_size < tokenizer_size) fail("tiny phi4mm", "vocab_size smaller than the tokenizer");
  json tokenizer = tiny_tokenizer_json(bpe, added);
  tokenizer["normalizer"] = nullptr;  // o200k has none
  tokenizer["pre_tokenizer"]["pretokenizers"][0] = {
      {"type", "Split"}, {"pattern", {{"Regex", kO200kRegex}}}, {"behavior", "Removed"}, {"invert", true}};
  write_text_file((dir / "tokenizer.json").string(), tokenizer.dump(2) + "\n");
  json decoder = json::object();
  for (std::size_t i = 0; i < added.size(); ++i)
    decoder[std::to_string(bpe.vocab.size() + i)] = {{"content", added[i].content}, {"lstrip", false},
                                                     {"normalized", false},     {"rstrip", false},
                                                     {"single_word", false},    {"special", true}};
  write_text_file((dir / "tokenizer_config.json").string(),
                  json{{"added_tokens_decoder", decoder},
                       {"bos_token", "<|endoftext|>"},
                       {"chat_template",
                        "{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] + "
                        "'<|end|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% else %}"
                        "{{ eos_token }}{% endif %}"},
                       {"clean_up_tokenization_spaces", false},
                       {"eos_token", "<|endoftext|>"},
                       {"model_max_length", o.max_positions},
                       {"pad_token", "<|endoftext|>"},
                       {"tokenizer_class", "GPT2TokenizerFast"}}
                          .dump(2) + "\n");

  // Decoder tensors (+ LoRA), then the image encoder's and a few audio tensors.
  TensorWriter w(o.seed, o.dtype);
  TensorWriter vision_lora(o.seed + 1, o.dtype), speech_lora(o.seed + 2, o.dtype);
  w.add("model.embed_tokens.weight", {vocab_size, s.D}, 1.0 / std::sqrt(static_cast<double>(s.D)));
  for (int l = 0; l < o.layers; ++l) {
    const std::string b = "model.layers." + std::to_string(l) + ".";
    w.norm(b + "input_layernorm", s.D, false);
    w.norm(b + "post_attention_layernorm", s.D, false);
    for (int m = 0; m < 4; ++m) {
      const std::string name = b + kModules[m];
      w.linear(name + (o.native_layout ? "" : ".base_layer"), s.out(m), s.in(m), false);
      // LoRA B random (a trained adapter), sized so the low-rank path visibly changes the output.
      const auto lora = [&](TensorWriter& to, const std::string& stem, int r) {
        to.add(stem + "lora_A" + (o.native_layout ? "" : ".vision") + ".weight", {r, s.in(m)},
               1.0 / std::sqrt(static_cast<double>(s.in(m))));
        to.add(stem + "lora_B" + (o.native_layout ? "" : ".vision") + ".weight", {s.out(m), r},
               0.3 / std::sqrt(static_cast<double>(r)));
      };
      if (o.native_layout) {
        lora(vision_lora, name + ".", o.lora_r);
        lora(speech_lora, name + ".", o.speech_lora_r);
      } else {
        lora(w, name + ".", o.lora_r);
        w.add(name + ".lora_A.speech.weight", {o.speech_lora_r, s.in(m)}, 0.1);
        w.add(name + ".lora_B.speech.weight", {s.out(m), o.speech_lora_r}, 0.1);
      }
    }
  }
  w.norm("model.norm", s.D, false);
  // A few audio-encoder tensors (names of each layout): present in the real files, never read.
  const std::string audio = "model.embed_tokens_extend.audio_embed.";
  w.linear(audio + (o.native_layout ? "encoder.encoders.0.feed_forward_in.gate_up_proj"
                                    : "encoder.encoders.0.feed_forward_in.net.0.linear"),
           16, 8);
  w.linear(audio + (o.native_layout ? "encoder.encoders.0.self_attn.q_proj" : "encoder.encoders.0.self_attn.linear_q"), 8, 8);
  w.linear(audio + "audio_projection.vision.0", s.D, 8);
  if (o.with_vision) add_tiny_phi4mm_vision_tensors(w, o.vision, s.D, o.native_layout);
  write_weights(dir, w.tensors(), o.shards);
  if (o.native_layout) {
    for (const auto& [folder, writer, r, alpha, dropout] :
         {std::make_tuple("vision-lora", &vision_lora, o.lora_r, o.lora_alpha, 0.0),
          std::make_tuple("speech-lora", &speech_lora, o.speech_lora_r, o.speech_lora_alpha, 0.01)}) {
      fs::create_directories(dir / folder);
      checkpoint::write_tensors((dir / folder / "adapter_model.safetensors").string(), writer->tensors(),
                                {{"format", "pt"}});
      write_text_file((dir / folder / "adapter_config.json").string(), adapter_config(r, alpha, dropout).dump(2) + "\n");
    }
  }

  // config.json: the published key layout at tiny sizes.
  json config = {
      {"attention_bias", false},
      {"attention_dropout", 0.0},
      {"bos_token_id", 199999},
      {"embd_pdrop", 0.0},
      {"eos_token_id", 199999},
      {"full_attn_mod", 1},
      {"hidden_act", "silu"},
      {"hidden_size", o.d_model},
      {"initializer_range", 0.02},
      {"intermediate_size", o.d_ff},
      {"interpolate_factor", 1},
      {"lm_head_bias", false},
      {"max_position_embeddings", o.max_positions},
      {"mlp_bias", false},
      {"num_attention_heads", o.heads},
      {"num_hidden_layers", o.layers},
      {"num_key_value_heads", o.kv_heads},
      {"original_max_position_embeddings", o.original_max_positions},
      {"pad_token_id", 199999},
      {"partial_rotary_factor", o.partial_rotary_factor},
      {"resid_pdrop", 0.0},
      {"rms_norm_eps", o.rms_norm_eps},
      {"rope_scaling", rope_scaling(rotary_dim)},
      {"rope_theta", o.rope_theta},
      {"sliding_window", 262144},
      {"tie_word_embeddings", true},
      {"torch_dtype", o.dtype},
      {"use_cache", true},
      {"vocab_size", vocab_size},
  };
  if (o.native_layout) {
    config["model_type"] = "phi4_multimodal";
    config["architectures"] = {"Phi4MultimodalForCausalLM"};
    config["transformers_version"] = "4.51.0";
    config["audio_config"] = {{"model_type", "phi4_multimodal_audio"}, {"hidden_size", 8}, {"num_blocks", 1}};
  } else {
    config["model_type"] = "phi4mm";
    config["architectures"] = {"Phi4MMForCausalLM"};
    config["auto_map"] = {{"AutoConfig", "configuration_phi4mm.Phi4MMConfig"},
                          {"AutoModelForCausalLM", "modeling_phi4mm.Phi4MMForCausalLM"},
                          {"AutoTokenizer", "Xenova/gpt-4o"}};
    config["transformers_version"] = "4.46.1";
    config["vision_lora"] = {{"dp", 0.0},
                             {"layer", "layers.*((self_attn\\.(qkv_proj|o_proj))|(mlp\\.(gate_up_proj|down_proj)))"},
                             {"lora_alpha", o.lora_alpha},
                             {"r", o.lora_r}};
    config["speech_lora"] = {{"dp", 0.01},
                             {"layer", "((layers.*self_attn\\.(qkv|o)_proj)|(layers.*mlp\\.(gate_up|down)_proj))"},
                             {"lora_alpha", o.speech_lora_alpha},
                             {"r", o.speech_lora_r}};
    config["embd_layer"] = {{"audio_embd_layer", {{"compression_rate", 8}, {"downsample_rate", 1}}},
                            {"embedding_cls", "image_audio"}};
  }
  if (o.with_vision) {
    // The image encoder's pieces (tiny_phi4mm_vision), its image token id the tiny tokenizer's.
    json vision = tiny_phi4mm_vision_config(o.vision);
    vision["vision_config"]["image_token_id"] = image_token_id;
    if (config.contains("embd_layer")) vision["embd_layer"].update(config["embd_layer"]);
    config.update(vision);
    write_text_file((dir / "preprocessor_config.json").string(),
                    tiny_phi4mm_preprocessor_config(o.vision, o.native_layout).dump(2) + "\n");
  }
  write_text_file((dir / "config.json").string(), config.dump(2) + "\n");
}

}  // namespace mechlens::tiny
