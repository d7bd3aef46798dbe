#include "bert_parameters.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"

namespace mechlens::toys {

namespace {

void add_linear(std::vector<std::pair<std::string, at::Tensor*>>& out, const std::string& name, layers::Linear& lin) {
  out.emplace_back(name + ".weight", &lin.weight);
  out.emplace_back(name + ".bias", &lin.bias);
}
void add_norm(std::vector<std::pair<std::string, at::Tensor*>>& out, const std::string& name, layers::LayerNorm& ln) {
  out.emplace_back(name + ".weight", &ln.weight);
  out.emplace_back(name + ".bias", &ln.bias);
}

}  // namespace

std::vector<std::pair<std::string, at::Tensor*>> named_parameters(models::bert::BertWeights& w) {
  // Names as modeling_bert.py's BertForMaskedLM state dict spells them.
  std::vector<std::pair<std::string, at::Tensor*>> out;
  const std::string p = w.prefix;
  out.emplace_back(p + "embeddings.word_embeddings.weight", &w.word_embeddings);
  out.emplace_back(p + "embeddings.position_embeddings.weight", &w.position_embeddings);
  out.emplace_back(p + "embeddings.token_type_embeddings.weight", &w.token_type_embeddings);
  add_norm(out, p + "embeddings.LayerNorm", w.embeddings_ln);
  for (std::size_t l = 0; l < w.layers.size(); ++l) {
    auto& L = w.layers[l];
    const std::string b = p + "encoder.layer." + std::to_string(l) + ".";
    add_linear(out, b + "attention.self.query", L.query);
    add_linear(out, b + "attention.self.key", L.key);
    add_linear(out, b + "attention.self.value", L.value);
    add_linear(out, b + "attention.output.dense", L.attn_out);
    add_norm(out, b + "attention.output.LayerNorm", L.attn_ln);
    add_linear(out, b + "intermediate.dense", L.intermediate);
    add_linear(out, b + "output.dense", L.output);
    add_norm(out, b + "output.LayerNorm", L.output_ln);
  }
  if (w.has_lm_head) {
    add_linear(out, "cls.predictions.transform.dense", w.transform);
    add_norm(out, "cls.predictions.transform.LayerNorm", w.transform_ln);
    if (!w.decoder_tied) out.emplace_back("cls.predictions.decoder.weight", &w.decoder.weight);
    out.emplace_back("cls.predictions.bias", &w.decoder.bias);
  }
  for (const auto& [name, t] : out)
    if (!t->defined()) fail("bert parameters", "tensor '" + name + "' is not loaded");
  return out;
}

void make_trainable(models::bert::BertWeights& w) {
  // The loaded tensors alias the read-only checkpoint mapping: copy first.
  for (auto& [name, tensor] : named_parameters(w)) *tensor = tensor->detach().clone().set_requires_grad(true);
  if (w.decoder_tied) w.decoder.weight = w.word_embeddings;
}

}  // namespace mechlens::toys
