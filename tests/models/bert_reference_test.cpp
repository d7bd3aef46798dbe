// The BERT adapter against an independent float64 implementation of
// BertForMaskedLM (reference/bert_reference.py: its own safetensors reader,
// the forward pass written from modeling_bert.py).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tiny_bert_support.hpp"
#include "python_requirement.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

// Runs the reference on `batch` and returns {name → tensor}.
std::map<std::string, at::Tensor> reference(const std::string& dir, const Batch& batch, const Scratch& scratch) {
  nlohmann::json request;
  const at::Tensor ids = batch.ids.to(at::kLong).contiguous();
  const at::Tensor mask = batch.attention_mask.to(at::kLong).contiguous();
  for (std::int64_t b = 0; b < ids.size(0); ++b) {
    std::vector<std::int64_t> row(ids[b].data_ptr<std::int64_t>(), ids[b].data_ptr<std::int64_t>() + ids.size(1));
    std::vector<std::int64_t> m(mask[b].data_ptr<std::int64_t>(), mask[b].data_ptr<std::int64_t>() + ids.size(1));
    request["ids"].push_back(row);
    request["mask"].push_back(m);
  }
  const std::string in = scratch.path("request.json"), out = scratch.path("reference.json");
  std::ofstream(in) << request.dump();
  const std::string command = "/usr/bin/python3 " MECHLENS_SOURCE_DIR "/tests/models/reference/bert_reference.py '" +
                              dir + "' '" + in + "' '" + out + "'";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream file(out);
  const auto json = nlohmann::json::parse(file);
  std::map<std::string, at::Tensor> result;
  for (const auto& [name, value] : json.items()) {
    const auto data = value.at("data").get<std::vector<double>>();
    const auto shape = value.at("shape").get<std::vector<std::int64_t>>();
    result[name] = at::tensor(data, at::kDouble).view(shape);
  }
  return result;
}

const std::vector<std::string> kTexts = {
    "the capital of france is [MASK] .",
    "a small dog saw [MASK] bird",
    "hello",  // shortest row: most padding
};

class BertReference : public ::testing::Test {
 protected:
  void SetUp() override {
    MECHLENS_REQUIRE_PYTHON("torch", "numpy");
  }
  Scratch scratch;
};

TEST_F(BertReference, Float32LogitsMatchPaddedBatch) {
  auto model = testing::tiny_bert(scratch);
  const auto p = testing::prompts(*model, kTexts);
  ASSERT_TRUE(p.batch.attention_mask.logical_not().any().item<bool>()) << "the batch should contain padding";
  const at::Tensor logits = model->forward(p.batch, nullptr);
  EXPECT_EQ(logits.scalar_type(), at::kFloat);
  const auto ref = reference(scratch.path("ckpt"), p.batch, scratch);
  ASSERT_EQ(logits.sizes(), ref.at("logits").sizes());
  EXPECT_LT(testing::max_abs_diff(logits, ref.at("logits")), 1e-4);
  // Not vacuous: logits are O(1) and differ across positions.
  EXPECT_GT(ref.at("logits").abs().max().item<double>(), 0.5);
}

TEST_F(BertReference, Float64LogitsMatchClosely) {
  tiny::TinyBertOptions o;
  o.layers = 3;
  o.hidden_act = "gelu_new";  // the tanh path
  o.seed = 7;
  auto model = testing::tiny_bert(scratch, o, "ckpt", "float64");
  const auto p = testing::prompts(*model, kTexts);
  const at::Tensor logits = model->forward(p.batch, nullptr);
  EXPECT_EQ(logits.scalar_type(), at::kDouble);
  const auto ref = reference(scratch.path("ckpt"), p.batch, scratch);
  EXPECT_LT(testing::max_abs_diff(logits, ref.at("logits")), 1e-9);
}

TEST_F(BertReference, Bfloat16ShardedCheckpointLoadsAsFloat32) {
  tiny::TinyBertOptions o;
  o.dtype = "bfloat16";
  o.shards = 2;
  o.seed = 3;
  auto model = testing::tiny_bert(scratch, o);
  EXPECT_EQ(model->options().dtype(), at::kFloat);
  const auto p = testing::prompts(*model, kTexts);
  const at::Tensor logits = model->forward(p.batch, nullptr);
  EXPECT_EQ(logits.scalar_type(), at::kFloat);
  // bf16 → f32 is exact, so the reference on the same bytes agrees to f32 rounding.
  const auto ref = reference(scratch.path("ckpt"), p.batch, scratch);
  EXPECT_LT(testing::max_abs_diff(logits, ref.at("logits")), 1e-4);
}

TEST_F(BertReference, BareEncoderHiddenStatesMatch) {
  tiny::TinyBertOptions o;
  o.with_mlm_head = false;
  o.bare_model_prefix = true;
  auto model = testing::tiny_bert(scratch, o);
  const auto p = testing::prompts(*model, kTexts);
  const at::Tensor hidden = model->run_blocks(model->embed(p.batch, nullptr), p.batch, 0, 2, nullptr);
  const auto ref = reference(scratch.path("ckpt"), p.batch, scratch);
  EXPECT_EQ(ref.count("logits"), 0u);
  EXPECT_LT(testing::max_abs_diff(hidden, ref.at("last_hidden_state")), 1e-4);
}

TEST_F(BertReference, UntiedDecoderUsesItsOwnWeight) {
  tiny::TinyBertOptions o;
  o.untied_decoder = true;
  auto model = testing::tiny_bert(scratch, o);
  const auto p = testing::prompts(*model, kTexts);
  const auto ref = reference(scratch.path("ckpt"), p.batch, scratch);
  EXPECT_LT(testing::max_abs_diff(model->forward(p.batch, nullptr), ref.at("logits")), 1e-4);
}

}  // namespace
}  // namespace mechlens
