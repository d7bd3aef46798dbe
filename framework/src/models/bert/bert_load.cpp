// Loading a BERT checkpoint directory (listed as "bert" in models/adapters.cpp).
#include <ATen/ATen.h>

#include <filesystem>

#include "mechlens/error.hpp"
#include "models/model_dtype.hpp"
#include "models/bert/bert_model.hpp"

namespace mechlens::models::bert {
tokenize::WordPiece load_bert_tokenizer(const std::string& directory) {
  namespace fs = std::filesystem;
  const fs::path dir(directory);
  if (fs::exists(dir / "tokenizer.json")) return tokenize::WordPiece::from_tokenizer_json((dir / "tokenizer.json").string());
  const fs::path vocab = dir / "vocab.txt";
  if (!fs::exists(vocab)) fail(directory, "no tokenizer: neither tokenizer.json nor vocab.txt");
  tokenize::WordPiece::Options options;
  const fs::path tokenizer_config = dir / "tokenizer_config.json";
  if (fs::exists(tokenizer_config)) {
    const auto config = checkpoint::Config::load(tokenizer_config.string());
    options.lower_case = config.get_or<bool>("do_lower_case", true);
    if (config.has("strip_accents") && !config.json().at("strip_accents").is_null())
      options.strip_accents = config.get<bool>("strip_accents");
    options.split_chinese_chars = config.get_or<bool>("tokenize_chinese_chars", true);
    for (const char* key : {"unk_token"})
      if (config.has(key) && config.json().at(key).is_string()) options.unk_token = config.get<std::string>(key);
  }
  return tokenize::WordPiece::from_vocab_txt(vocab.string(), options);
}

std::unique_ptr<BertModel> BertModel::load(const LoadOptions& options) {
  std::unique_ptr<BertModel> model(new BertModel());
  model->options_ = at::TensorOptions().dtype(parse_model_dtype(options.dtype, "bert", /*float16_allowed=*/false)).device(at::Device(options.device));
  model->ckpt_ = std::make_shared<checkpoint::Checkpoint>(checkpoint::Checkpoint::open(options.path));
  model->config_ = BertConfig::from(model->ckpt_->config());
  model->weights_ = load_bert_weights(*model->ckpt_, model->config_, model->options_);
  model->tokenizer_ = std::make_shared<tokenize::WordPiece>(load_bert_tokenizer(options.path));
  model->identity_ = model->ckpt_->identity("hf-bert");
  return model;
}

}  // namespace mechlens::models::bert
