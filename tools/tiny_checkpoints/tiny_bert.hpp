#pragma once
// Tiny random BERT checkpoints in the exact Hugging Face layout
// (config.json, model.safetensors or shards + model.safetensors.index.json,
// vocab.txt, tokenizer_config.json), so tests need no downloads.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mechlens::tiny {

struct TinyBertOptions {
  int layers = 2;
  int heads = 4;
  int d_model = 32;
  int d_ff = 64;
  int max_positions = 64;
  int type_vocab = 2;
  std::vector<std::string> vocab;  // empty: tiny_bert_vocab()
  int vocab_size = 0;              // 0: vocab.size(); larger: padded with "[unusedN]"
  std::uint64_t seed = 0;
  bool with_mlm_head = true;       // cls.predictions.* (BertForMaskedLM)
  bool untied_decoder = false;     // write cls.predictions.decoder.weight (its own random matrix)
  bool with_pooler = true;         // bert.pooler.dense.* (unused by the MLM forward)
  bool bare_model_prefix = false;  // encoder names without "bert." (bare BertModel)
  bool gamma_beta_names = false;   // LayerNorm.gamma / LayerNorm.beta
  std::string dtype = "float32";   // "float32" | "bfloat16"
  int shards = 1;                  // > 1: model-0000k-of-0000n.safetensors + index
  std::string hidden_act = "gelu";
  double layer_norm_eps = 1e-12;
  bool do_lower_case = true;
  // For error tests: tensors left out, extra tensors ([2] f32) and shapes overridden, by file name.
  std::vector<std::string> omit;
  std::vector<std::string> extra;
  std::map<std::string, std::vector<std::int64_t>> override_shape;

  // 12 layers x 12 heads, d_model 768, FFN 3072, vocab 30,522, 512 positions (bert-base-uncased's shape).
  static TinyBertOptions bert_base_shaped();
};

// [PAD] [UNK] [CLS] [SEP] [MASK], punctuation, digits, a few hundred common
// lowercase words, and every letter as a word and as a "##" piece so that
// any lowercase ASCII word tokenizes without [UNK].
const std::vector<std::string>& tiny_bert_vocab();

// Writes the checkpoint into `directory` (created if needed). Weights are
// N(0, 1/fan_in) for matrices; biases and LayerNorm parameters are small
// random values around 0 and 1 (not 0/1, so a mis-mapped tensor shows).
void write_tiny_bert(const std::string& directory, const TinyBertOptions& options);

}  // namespace mechlens::tiny
