#pragma once
// Tiny BERT checkpoints for the models, hooks and interventions suites:
// a scratch directory per test, a checkpoint written into it, the model
// loaded from it, and batches built from prompts.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "mechlens/model.hpp"
#include "models/bert/bert_model.hpp"
#include "tiny_bert.hpp"

namespace mechlens::testing {

// A fresh directory per test, removed afterwards.
class Scratch {
 public:
  Scratch() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::path(::testing::TempDir()) /
            (std::string("mechlens-bert-") + info->test_suite_name() + "-" + info->name() + "-" +
             std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path(const std::string& name = "") const { return name.empty() ? path_.string() : (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::unique_ptr<models::bert::BertModel> load_bert(const std::string& dir, const std::string& dtype = "float32") {
  models::LoadOptions options;
  options.path = dir;
  options.dtype = dtype;
  return models::bert::BertModel::load(options);
}

// Writes a tiny checkpoint into `scratch`/`name` and loads it.
inline std::unique_ptr<models::bert::BertModel> tiny_bert(const Scratch& scratch, const tiny::TinyBertOptions& options = {},
                                                          const std::string& name = "ckpt",
                                                          const std::string& dtype = "float32") {
  tiny::write_tiny_bert(scratch.path(name), options);
  return load_bert(scratch.path(name), dtype);
}

// Prompts encoded and kept alive with their batch (Batch points into them).
struct Prompts {
  std::vector<EncodedInput> encoded;
  Batch batch;
};

inline Prompts prompts(const Model& model, const std::vector<std::string>& texts) {
  Prompts p;
  for (const auto& text : texts) {
    InputSpec spec;
    spec.id = text;
    spec.text = text;
    p.encoded.push_back(model.encode(spec));
  }
  std::vector<const EncodedInput*> pointers;
  for (const auto& e : p.encoded) pointers.push_back(&e);
  p.batch = model.make_batch(pointers);
  return p;
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// max |a - b| relative to the size of b's entries (at least 1): float32
// logits of order 10 differ by ~1e-6 between batch shapes through BLAS
// blocking alone.
inline double rel_diff(const at::Tensor& a, const at::Tensor& b) {
  return max_abs_diff(a, b) / std::max(1.0, b.to(at::kDouble).abs().max().item<double>());
}

}  // namespace mechlens::testing
