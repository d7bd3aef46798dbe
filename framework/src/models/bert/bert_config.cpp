#include "models/bert/bert_config.hpp"

#include "mechlens/error.hpp"

namespace mechlens::models::bert {

BertConfig BertConfig::from(const checkpoint::Config& config) {
  BertConfig c;
  c.hidden_size = config.get<int>("hidden_size");
  c.num_layers = config.get<int>("num_hidden_layers");
  c.num_heads = config.get<int>("num_attention_heads");
  c.intermediate_size = config.get<int>("intermediate_size");
  c.max_positions = config.get_or<int>("max_position_embeddings", 512);
  c.type_vocab_size = config.get_or<int>("type_vocab_size", 2);
  c.vocab_size = config.get<int>("vocab_size");
  c.pad_token_id = config.get_or<int>("pad_token_id", 0);
  c.layer_norm_eps = config.get_or<double>("layer_norm_eps", 1e-12);
  c.hidden_act = layers::parse_activation(config.get_or<std::string>("hidden_act", "gelu"),
                                          config.file() + ": key 'hidden_act'");
  const auto positive = [&](const char* key, int value) {
    if (value <= 0) fail(config.file() + ": key '" + key + "'", "must be positive, got " + std::to_string(value));
  };
  positive("hidden_size", c.hidden_size);
  positive("num_hidden_layers", c.num_layers);
  positive("num_attention_heads", c.num_heads);
  positive("intermediate_size", c.intermediate_size);
  positive("max_position_embeddings", c.max_positions);
  positive("type_vocab_size", c.type_vocab_size);
  positive("vocab_size", c.vocab_size);
  if (c.hidden_size % c.num_heads != 0)
    fail(config.file() + ": key 'hidden_size'", std::to_string(c.hidden_size) + " is not a multiple of num_attention_heads " +
                                                    std::to_string(c.num_heads));
  const auto position_type = config.get_or<std::string>("position_embedding_type", "absolute");
  if (position_type != "absolute")
    fail(config.file() + ": key 'position_embedding_type'", "only 'absolute' is supported, got '" + position_type + "'");
  return c;
}

}  // namespace mechlens::models::bert
