#include "bert_parameters.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"

namespace mechlens::toys {

namespace {

const char* const kStackedQkv = "attention.self.qkv";

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
    add_linear(out, b + kStackedQkv, L.qkv);  // query, key, value stacked (split by checkpoint_tensors)
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

std::vector<std::pair<std::string, at::Tensor>> checkpoint_tensors(models::bert::BertWeights& w) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (auto& [name, t] : named_parameters(w)) {
    const auto stacked = name.find(kStackedQkv);
    if (stacked == std::string::npos) {
      out.emplace_back(name, t->detach().contiguous());
      continue;
    }
    // ".../attention.self.qkv.weight" → query, key, value rows.
    const std::string before = name.substr(0, stacked), after = name.substr(stacked + std::string(kStackedQkv).size());
    const auto d = t->size(0) / 3;
    const char* parts[] = {"attention.self.query", "attention.self.key", "attention.self.value"};
    for (int i = 0; i < 3; ++i) out.emplace_back(before + parts[i] + after, t->detach().narrow(0, i * d, d).contiguous());
  }
  return out;
}

void make_trainable(models::bert::BertWeights& w) {
  // The loaded tensors alias the read-only checkpoint mapping: copy first.
  for (auto& [name, tensor] : named_parameters(w)) *tensor = tensor->detach().clone().set_requires_grad(true);
  if (w.decoder_tied) w.decoder.weight = w.word_embeddings;
}

}  // namespace mechlens::toys
