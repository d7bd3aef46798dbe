#include "tiny_bert.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "checkpoint/safetensors.hpp"
#include "mechlens/error.hpp"
#include "tiny_tensors.hpp"

namespace mechlens::tiny {
namespace {

namespace fs = std::filesystem;
using checkpoint::DType;
using checkpoint::TensorData;

class Writer {
 public:
  Writer(const TinyBertOptions& o) : o_(o), gen_(at::make_generator<at::CPUGeneratorImpl>(o.seed)) {
    if (o.dtype == "float32") dtype_ = DType::f32;
    else if (o.dtype == "bfloat16") dtype_ = DType::bf16;
    else fail("write_tiny_bert", "dtype '" + o.dtype + "' (float32, bfloat16)");
  }

  // Normal(mean, std) values of `shape`.
  void add(const std::string& name, std::vector<std::int64_t> shape, double std, double mean = 0.0) {
    at::Tensor t = at::randn(shape, gen_, at::kFloat) * std + mean;  // drawn even when omitted: same seed, same values
    if (std::find(o_.omit.begin(), o_.omit.end(), name) != o_.omit.end()) return;
    if (auto it = o_.override_shape.find(name); it != o_.override_shape.end()) t = at::randn(it->second, gen_, at::kFloat);
    put(name, t);
  }
  void put(const std::string& name, at::Tensor t) {
    TensorData d;
    d.name = name;
    d.dtype = dtype_;
    d.shape = t.sizes().vec();
    t = (dtype_ == DType::bf16 ? t.to(at::kBFloat16) : t.to(at::kFloat)).contiguous();
    d.bytes.resize(t.nbytes());
    std::memcpy(d.bytes.data(), t.data_ptr(), t.nbytes());
    tensors_.push_back(std::move(d));
  }
  void linear(const std::string& name, std::int64_t out, std::int64_t in) {
    add(name + ".weight", {out, in}, 1.0 / std::sqrt(static_cast<double>(in)));
    add(name + ".bias", {out}, 0.1);
  }
  void layer_norm(const std::string& name, std::int64_t d) {
    add(name + (o_.gamma_beta_names ? ".gamma" : ".weight"), {d}, 0.1, 1.0);
    add(name + (o_.gamma_beta_names ? ".beta" : ".bias"), {d}, 0.1);
  }
  std::vector<TensorData>& tensors() { return tensors_; }

 private:
  const TinyBertOptions& o_;
  at::Generator gen_;
  DType dtype_;
  std::vector<TensorData> tensors_;
};

}  // namespace

TinyBertOptions TinyBertOptions::bert_base_shaped() {
  TinyBertOptions o;
  o.layers = 12;
  o.heads = 12;
  o.d_model = 768;
  o.d_ff = 3072;
  o.max_positions = 512;
  o.vocab_size = 30522;
  return o;
}

void write_tiny_bert(const std::string& directory, const TinyBertOptions& o) {
  if (o.heads <= 0 || o.d_model % o.heads != 0)
    fail("write_tiny_bert", "d_model " + std::to_string(o.d_model) + " is not a multiple of heads " + std::to_string(o.heads));
  std::vector<std::string> vocab = o.vocab.empty() ? tiny_bert_vocab() : o.vocab;
  if (o.vocab_size > 0) {
    if (static_cast<std::size_t>(o.vocab_size) < vocab.size())
      fail("write_tiny_bert", "vocab_size " + std::to_string(o.vocab_size) + " is smaller than the vocabulary (" +
                                  std::to_string(vocab.size()) + " tokens)");
    for (int i = 0; vocab.size() < static_cast<std::size_t>(o.vocab_size); ++i) vocab.push_back("[unused" + std::to_string(i) + "]");
  }
  const auto V = static_cast<std::int64_t>(vocab.size());
  const std::int64_t D = o.d_model, F = o.d_ff;
  const fs::path dir(directory);
  fs::create_directories(dir);

  Writer w(o);
  const std::string p = o.bare_model_prefix ? "" : "bert.";
  w.add(p + "embeddings.word_embeddings.weight", {V, D}, 1.0);
  w.add(p + "embeddings.position_embeddings.weight", {o.max_positions, D}, 0.5);
  w.add(p + "embeddings.token_type_embeddings.weight", {o.type_vocab, D}, 0.5);
  w.layer_norm(p + "embeddings.LayerNorm", D);
  for (int l = 0; l < o.layers; ++l) {
    const std::string b = p + "encoder.layer." + std::to_string(l) + ".";
    w.linear(b + "attention.self.query", D, D);
    w.linear(b + "attention.self.key", D, D);
    w.linear(b + "attention.self.value", D, D);
    w.linear(b + "attention.output.dense", D, D);
    w.layer_norm(b + "attention.output.LayerNorm", D);
    w.linear(b + "intermediate.dense", F, D);
    w.linear(b + "output.dense", D, F);
    w.layer_norm(b + "output.LayerNorm", D);
  }
  if (o.with_pooler) w.linear(p + "pooler.dense", D, D);
  if (o.with_mlm_head) {
    w.linear("cls.predictions.transform.dense", D, D);
    w.layer_norm("cls.predictions.transform.LayerNorm", D);
    if (o.untied_decoder) w.add("cls.predictions.decoder.weight", {V, D}, 1.0);
    w.add("cls.predictions.bias", {V}, 0.1);
  }
  for (const auto& name : o.extra) w.put(name, at::ones({2}));

  auto& tensors = w.tensors();
  const int shards = std::max(1, o.shards);
  if (shards == 1) {
    checkpoint::write_safetensors((dir / "model.safetensors").string(), tensors, {{"format", "pt"}});
  } else {
    nlohmann::json index;
    std::size_t total = 0;
    const std::size_t per_shard = (tensors.size() + shards - 1) / shards;
    for (int s = 0; s < shards; ++s) {
      char file[64];
      std::snprintf(file, sizeof file, "model-%05d-of-%05d.safetensors", s + 1, shards);
      std::vector<TensorData> part;
      for (std::size_t i = s * per_shard; i < std::min(tensors.size(), (s + 1) * per_shard); ++i) {
        index["weight_map"][tensors[i].name] = file;
        total += tensors[i].bytes.size();
        part.push_back(std::move(tensors[i]));
      }
      checkpoint::write_safetensors((dir / file).string(), part, {{"format", "pt"}});
    }
    index["metadata"]["total_size"] = total;
    write_text_file((dir / "model.safetensors.index.json").string(), index.dump(2) + "\n");
  }

  nlohmann::json config = {
      {"architectures", {o.with_mlm_head ? "BertForMaskedLM" : "BertModel"}},
      {"attention_probs_dropout_prob", 0.1},
      {"classifier_dropout", nullptr},
      {"hidden_act", o.hidden_act},
      {"hidden_dropout_prob", 0.1},
      {"hidden_size", o.d_model},
      {"initializer_range", 0.02},
      {"intermediate_size", o.d_ff},
      {"layer_norm_eps", o.layer_norm_eps},
      {"max_position_embeddings", o.max_positions},
      {"model_type", "bert"},
      {"num_attention_heads", o.heads},
      {"num_hidden_layers", o.layers},
      {"pad_token_id", 0},
      {"position_embedding_type", "absolute"},
      {"torch_dtype", o.dtype},
      {"transformers_version", "4.41.2"},
      {"type_vocab_size", o.type_vocab},
      {"use_cache", true},
      {"vocab_size", V},
  };
  write_text_file((dir / "config.json").string(), config.dump(2) + "\n");

  std::string vocab_txt;
  for (const auto& t : vocab) vocab_txt += t + "\n";
  write_text_file((dir / "vocab.txt").string(), vocab_txt);
  const nlohmann::json tokenizer_config = {
      {"do_lower_case", o.do_lower_case}, {"model_max_length", o.max_positions},
      {"tokenizer_class", "BertTokenizer"}, {"tokenize_chinese_chars", true},
      {"strip_accents", nullptr},         {"cls_token", "[CLS]"},
      {"sep_token", "[SEP]"},             {"mask_token", "[MASK]"},
      {"pad_token", "[PAD]"},             {"unk_token", "[UNK]"},
  };
  write_text_file((dir / "tokenizer_config.json").string(), tokenizer_config.dump(2) + "\n");
}

}  // namespace mechlens::tiny
