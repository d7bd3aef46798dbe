#include "models/bert/bert_weights.hpp"

#include <ATen/ATen.h>

#include <array>

#include "mechlens/error.hpp"

namespace mechlens::models::bert {
namespace {

enum class T {
  word_embeddings, position_embeddings, token_type_embeddings, embeddings_ln_weight, embeddings_ln_bias,
  query_weight, query_bias, key_weight, key_bias, value_weight, value_bias,
  attn_out_weight, attn_out_bias, attn_ln_weight, attn_ln_bias,
  intermediate_weight, intermediate_bias, output_weight, output_bias, output_ln_weight, output_ln_bias,
  transform_weight, transform_bias, transform_ln_weight, transform_ln_bias, decoder_weight, decoder_bias,
};
// Shape entries, resolved from the config.
enum class Dim { vocab, positions, types, model, ff };
enum class Scope { encoder, layer, head };  // encoder/layer names take the "bert." prefix when the file has it

struct Spec {
  T tensor;
  Scope scope;
  const char* name;  // "{}" = layer index
  std::array<Dim, 2> shape;
  int rank;
};

// Hugging Face's names (modeling_bert.py: BertEmbeddings, BertLayer, BertLMPredictionHead).
constexpr Spec kSpecs[] = {
    {T::word_embeddings, Scope::encoder, "embeddings.word_embeddings.weight", {Dim::vocab, Dim::model}, 2},
    {T::position_embeddings, Scope::encoder, "embeddings.position_embeddings.weight", {Dim::positions, Dim::model}, 2},
    {T::token_type_embeddings, Scope::encoder, "embeddings.token_type_embeddings.weight", {Dim::types, Dim::model}, 2},
    {T::embeddings_ln_weight, Scope::encoder, "embeddings.LayerNorm.weight", {Dim::model}, 1},
    {T::embeddings_ln_bias, Scope::encoder, "embeddings.LayerNorm.bias", {Dim::model}, 1},
    {T::query_weight, Scope::layer, "encoder.layer.{}.attention.self.query.weight", {Dim::model, Dim::model}, 2},
    {T::query_bias, Scope::layer, "encoder.layer.{}.attention.self.query.bias", {Dim::model}, 1},
    {T::key_weight, Scope::layer, "encoder.layer.{}.attention.self.key.weight", {Dim::model, Dim::model}, 2},
    {T::key_bias, Scope::layer, "encoder.layer.{}.attention.self.key.bias", {Dim::model}, 1},
    {T::value_weight, Scope::layer, "encoder.layer.{}.attention.self.value.weight", {Dim::model, Dim::model}, 2},
    {T::value_bias, Scope::layer, "encoder.layer.{}.attention.self.value.bias", {Dim::model}, 1},
    {T::attn_out_weight, Scope::layer, "encoder.layer.{}.attention.output.dense.weight", {Dim::model, Dim::model}, 2},
    {T::attn_out_bias, Scope::layer, "encoder.layer.{}.attention.output.dense.bias", {Dim::model}, 1},
    {T::attn_ln_weight, Scope::layer, "encoder.layer.{}.attention.output.LayerNorm.weight", {Dim::model}, 1},
    {T::attn_ln_bias, Scope::layer, "encoder.layer.{}.attention.output.LayerNorm.bias", {Dim::model}, 1},
    {T::intermediate_weight, Scope::layer, "encoder.layer.{}.intermediate.dense.weight", {Dim::ff, Dim::model}, 2},
    {T::intermediate_bias, Scope::layer, "encoder.layer.{}.intermediate.dense.bias", {Dim::ff}, 1},
    {T::output_weight, Scope::layer, "encoder.layer.{}.output.dense.weight", {Dim::model, Dim::ff}, 2},
    {T::output_bias, Scope::layer, "encoder.layer.{}.output.dense.bias", {Dim::model}, 1},
    {T::output_ln_weight, Scope::layer, "encoder.layer.{}.output.LayerNorm.weight", {Dim::model}, 1},
    {T::output_ln_bias, Scope::layer, "encoder.layer.{}.output.LayerNorm.bias", {Dim::model}, 1},
    {T::transform_weight, Scope::head, "cls.predictions.transform.dense.weight", {Dim::model, Dim::model}, 2},
    {T::transform_bias, Scope::head, "cls.predictions.transform.dense.bias", {Dim::model}, 1},
    {T::transform_ln_weight, Scope::head, "cls.predictions.transform.LayerNorm.weight", {Dim::model}, 1},
    {T::transform_ln_bias, Scope::head, "cls.predictions.transform.LayerNorm.bias", {Dim::model}, 1},
    {T::decoder_weight, Scope::head, "cls.predictions.decoder.weight", {Dim::vocab, Dim::model}, 2},
    {T::decoder_bias, Scope::head, "cls.predictions.bias", {Dim::vocab}, 1},
};

const Spec& spec(T tensor) {
  for (const auto& s : kSpecs)
    if (s.tensor == tensor) return s;
  fail("bert", "no spec for a tensor");  // unreachable: every T has a row
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

class Loader {
 public:
  Loader(const checkpoint::Checkpoint& ckpt, const BertConfig& config, const at::TensorOptions& options,
         std::string prefix)
      : ckpt_(ckpt), config_(config), options_(options), prefix_(std::move(prefix)) {}

  // The canonical name of a tensor (weight/bias spelling).
  std::string name(T tensor, int layer = -1) const {
    const Spec& s = spec(tensor);
    std::string n = replace_all(s.name, "{}", std::to_string(layer));
    return s.scope == Scope::head ? n : prefix_ + n;
  }
  // The name the file uses: LayerNorm parameters may be gamma/beta.
  std::optional<std::string> present(T tensor, int layer = -1) const {
    const std::string n = name(tensor, layer);
    std::vector<std::string> spellings = {n};
    if (n.find("LayerNorm.weight") != std::string::npos) spellings.push_back(replace_all(n, "LayerNorm.weight", "LayerNorm.gamma"));
    if (n.find("LayerNorm.bias") != std::string::npos) spellings.push_back(replace_all(n, "LayerNorm.bias", "LayerNorm.beta"));
    return ckpt_.first_present(spellings);
  }
  at::Tensor load(T tensor, int layer = -1) const {
    const Spec& s = spec(tensor);
    const auto found = present(tensor, layer);
    if (!found) {
      std::string what = "tensor '" + name(tensor, layer) + "' missing";
      if (name(tensor, layer).find("LayerNorm.") != std::string::npos) what += " (also looked for the gamma/beta spelling)";
      fail(ckpt_.directory(), what);
    }
    std::vector<std::int64_t> shape;
    for (int i = 0; i < s.rank; ++i) shape.push_back(size(s.shape[i]));
    return ckpt_.load(*found, shape, options_);
  }
  layers::Linear linear(T weight, T bias, int layer = -1) const { return {load(weight, layer), load(bias, layer)}; }
  layers::LayerNorm layer_norm(T weight, T bias, int layer = -1) const {
    return {load(weight, layer), load(bias, layer), config_.layer_norm_eps};
  }

 private:
  std::int64_t size(Dim d) const {
    switch (d) {
      case Dim::vocab: return config_.vocab_size;
      case Dim::positions: return config_.max_positions;
      case Dim::types: return config_.type_vocab_size;
      case Dim::model: return config_.hidden_size;
      case Dim::ff: return config_.intermediate_size;
    }
    return 0;
  }
  const checkpoint::Checkpoint& ckpt_;
  const BertConfig& config_;
  at::TensorOptions options_;
  std::string prefix_;
};

}  // namespace

const std::vector<std::string>& bert_ignorable_tensors() {
  // The pooler and the next-sentence head feed nothing we compute;
  // position_ids/token_type_ids are buffers some versions saved;
  // cls.predictions.decoder.bias is tied to cls.predictions.bias in HF.
  static const std::vector<std::string> names = {
      "*pooler.*", "cls.seq_relationship.*", "*embeddings.position_ids", "*embeddings.token_type_ids",
      "cls.predictions.decoder.bias"};
  return names;
}

BertWeights load_bert_weights(const checkpoint::Checkpoint& ckpt, const BertConfig& config,
                              const at::TensorOptions& options) {
  BertWeights w;
  const std::string word = spec(T::word_embeddings).name;
  if (ckpt.has("bert." + word)) {
    w.prefix = "bert.";
  } else if (ckpt.has(word)) {
    w.prefix = "";
  } else {
    fail(ckpt.directory(), "tensor 'bert." + word + "' missing (nor '" + word + "', the bare BertModel spelling)");
  }
  const Loader l(ckpt, config, options, w.prefix);

  w.word_embeddings = l.load(T::word_embeddings);
  w.position_embeddings = l.load(T::position_embeddings);
  w.token_type_embeddings = l.load(T::token_type_embeddings);
  w.embeddings_ln = l.layer_norm(T::embeddings_ln_weight, T::embeddings_ln_bias);
  for (int i = 0; i < config.num_layers; ++i) {
    BertLayerWeights layer;
    layer.query = l.linear(T::query_weight, T::query_bias, i);
    layer.key = l.linear(T::key_weight, T::key_bias, i);
    layer.value = l.linear(T::value_weight, T::value_bias, i);
    layer.attn_out = l.linear(T::attn_out_weight, T::attn_out_bias, i);
    layer.attn_ln = l.layer_norm(T::attn_ln_weight, T::attn_ln_bias, i);
    layer.intermediate = l.linear(T::intermediate_weight, T::intermediate_bias, i);
    layer.output = l.linear(T::output_weight, T::output_bias, i);
    layer.output_ln = l.layer_norm(T::output_ln_weight, T::output_ln_bias, i);
    w.layers.push_back(std::move(layer));
  }

  // The MLM head is there when its transform is; then every part is required.
  w.has_lm_head = l.present(T::transform_weight).has_value();
  if (w.has_lm_head) {
    w.transform = l.linear(T::transform_weight, T::transform_bias);
    w.transform_ln = l.layer_norm(T::transform_ln_weight, T::transform_ln_bias);
    w.decoder_tied = !l.present(T::decoder_weight).has_value();
    w.decoder.weight = w.decoder_tied ? w.word_embeddings : l.load(T::decoder_weight);
    // Some files keep only the decoder's copy of the tied bias.
    if (l.present(T::decoder_bias)) {
      w.decoder.bias = l.load(T::decoder_bias);
    } else if (ckpt.has("cls.predictions.decoder.bias")) {
      w.decoder.bias = ckpt.load("cls.predictions.decoder.bias", {config.vocab_size}, options);
    } else {
      w.decoder.bias = l.load(T::decoder_bias);  // reports it missing
    }
  }
  ckpt.require_all_used(bert_ignorable_tensors());
  return w;
}

}  // namespace mechlens::models::bert
