#pragma once
// The parts of a BERT config.json the forward pass needs (BertConfig in
// transformers/models/bert/configuration_bert.py).
#include <cstdint>
#include <string>

#include "checkpoint/config.hpp"
#include "models/layers/activations.hpp"

namespace mechlens::models::bert {

struct BertConfig {
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int intermediate_size = 0;
  int max_positions = 0;
  int type_vocab_size = 0;
  int vocab_size = 0;
  int pad_token_id = 0;
  double layer_norm_eps = 1e-12;
  layers::Activation hidden_act = layers::Activation::gelu;

  int head_dim() const { return hidden_size / num_heads; }
  // Errors name config.json and the key.
  static BertConfig from(const checkpoint::Config& config);
};

}  // namespace mechlens::models::bert
