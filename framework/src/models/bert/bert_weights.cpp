#include "models/bert/bert_weights.hpp"

#include <ATen/ATen.h>

#include "checkpoint/tensor_table.hpp"
#include "mechlens/error.hpp"

namespace mechlens::models::bert {
namespace {

// Hugging Face's names (modeling_bert.py: BertEmbeddings, BertLayer, BertLMPredictionHead),
// relative to the "bert." prefix where the file has one; "{i}" = layer index.
const std::string kWord = "embeddings.word_embeddings.weight";
const std::string kPosition = "embeddings.position_embeddings.weight";
const std::string kTokenType = "embeddings.token_type_embeddings.weight";
const std::string kEmbeddingsLn = "embeddings.LayerNorm";
const std::string kLayer = "encoder.layer.{i}.";
const std::string kQuery = kLayer + "attention.self.query";
const std::string kKey = kLayer + "attention.self.key";
const std::string kValue = kLayer + "attention.self.value";
const std::string kAttnOut = kLayer + "attention.output.dense";
const std::string kAttnLn = kLayer + "attention.output.LayerNorm";
const std::string kIntermediate = kLayer + "intermediate.dense";
const std::string kOutput = kLayer + "output.dense";
const std::string kOutputLn = kLayer + "output.LayerNorm";
// The MLM head (never prefixed).
const std::string kTransform = "cls.predictions.transform.dense";
const std::string kTransformLn = "cls.predictions.transform.LayerNorm";
const std::string kDecoderWeight = "cls.predictions.decoder.weight";
const std::string kDecoderBias = "cls.predictions.bias";

// One table for the file's spelling of the prefix, with or without the head.
checkpoint::TensorTable bert_table(const BertConfig& c, const std::string& prefix, bool lm_head) {
  const std::int64_t V = c.vocab_size, D = c.hidden_size, F = c.intermediate_size;
  const int L = c.num_layers;
  checkpoint::TensorTable t("bert");
  const auto linear = [&](const std::string& name, std::int64_t out, std::int64_t in, int layers) {
    t.add(name + ".weight", {out, in}).layers(layers);
    t.add(name + ".bias", {out}).layers(layers);
  };
  // Older TF-converted files spell LayerNorm parameters gamma/beta.
  const auto layer_norm = [&](const std::string& name, int layers) {
    t.add(name + ".weight", {D}).or_named(name + ".gamma").layers(layers);
    t.add(name + ".bias", {D}).or_named(name + ".beta").layers(layers);
  };
  t.add(prefix + kWord, {V, D});
  t.add(prefix + kPosition, {c.max_positions, D});
  t.add(prefix + kTokenType, {c.type_vocab_size, D});
  layer_norm(prefix + kEmbeddingsLn, 0);
  for (const auto* name : {&kQuery, &kKey, &kValue, &kAttnOut}) linear(prefix + *name, D, D, L);
  layer_norm(prefix + kAttnLn, L);
  linear(prefix + kIntermediate, F, D, L);
  linear(prefix + kOutput, D, F, L);
  layer_norm(prefix + kOutputLn, L);
  if (lm_head) {
    linear(kTransform, D, D, 0);
    layer_norm(kTransformLn, 0);
    t.add(kDecoderWeight, {V, D}).optional();  // absent: tied to the word embeddings
    // Some files keep only the decoder's copy of the tied bias.
    t.add(kDecoderBias, {V}).or_named("cls.predictions.decoder.bias");
  }
  for (const auto& glob : bert_ignorable_tensors()) t.ignore(glob);
  return t;
}

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
  // BertForMaskedLM prefixes the encoder with "bert."; a bare BertModel does not.
  w.prefix = ckpt.has("bert." + kWord) || !ckpt.has(kWord) ? "bert." : "";
  // The MLM head is there when its transform is; then every part is required.
  w.has_lm_head = ckpt.has(kTransform + ".weight");
  const checkpoint::TensorSet t = bert_table(config, w.prefix, w.has_lm_head).resolve(ckpt);

  const std::string& p = w.prefix;
  const auto load = [&](const std::string& key, int layer = -1) { return t.load(key, options, layer); };
  const auto linear = [&](const std::string& name, int layer = -1) {
    return layers::Linear{load(name + ".weight", layer), load(name + ".bias", layer)};
  };
  const auto layer_norm = [&](const std::string& name, int layer = -1) {
    return layers::LayerNorm{load(name + ".weight", layer), load(name + ".bias", layer), config.layer_norm_eps};
  };
  w.word_embeddings = load(p + kWord);
  w.position_embeddings = load(p + kPosition);
  w.token_type_embeddings = load(p + kTokenType);
  w.embeddings_ln = layer_norm(p + kEmbeddingsLn);
  for (int i = 0; i < config.num_layers; ++i) {
    BertLayerWeights layer;
    const layers::Linear query = linear(p + kQuery, i), key = linear(p + kKey, i), value = linear(p + kValue, i);
    layer.qkv = layers::stack({&query, &key, &value});
    for (const auto* part : {&query, &key, &value}) ckpt.release_pages(part->weight);  // the stacked copy replaces them
    layer.attn_out = linear(p + kAttnOut, i);
    layer.attn_ln = layer_norm(p + kAttnLn, i);
    layer.intermediate = linear(p + kIntermediate, i);
    layer.output = linear(p + kOutput, i);
    layer.output_ln = layer_norm(p + kOutputLn, i);
    w.layers.push_back(std::move(layer));
  }
  if (w.has_lm_head) {
    w.transform = linear(kTransform);
    w.transform_ln = layer_norm(kTransformLn);
    w.decoder_tied = !t.has(kDecoderWeight);
    w.decoder.weight = w.decoder_tied ? w.word_embeddings : load(kDecoderWeight);
    w.decoder.bias = load(kDecoderBias);
  }
  return w;
}

}  // namespace mechlens::models::bert
