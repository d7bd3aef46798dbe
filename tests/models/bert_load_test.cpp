// Loading BERT checkpoints: name spellings, the MLM head, error messages
// that name the tensor, the registry, and prompt encoding.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>

#include "mechlens/error.hpp"
#include "models/registry.hpp"
#include "tiny_bert_support.hpp"
#include "bf16_tolerance.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

std::string load_error(const std::string& dir) {
  try {
    testing::load_bert(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(BertLoad, ThreeNameSpellingsGiveIdenticalLogits) {
  Scratch scratch;
  tiny::TinyBertOptions o;  // same seed: same values under every spelling
  auto prefixed = testing::tiny_bert(scratch, o, "prefixed");
  o.bare_model_prefix = true;
  auto bare = testing::tiny_bert(scratch, o, "bare");
  o.bare_model_prefix = false;
  o.gamma_beta_names = true;
  auto legacy = testing::tiny_bert(scratch, o, "gamma_beta");
  const auto p = testing::prompts(*prefixed, {"the dog [MASK] .", "red"});
  const at::Tensor a = prefixed->forward(p.batch, nullptr);
  EXPECT_TRUE(at::equal(a, bare->forward(p.batch, nullptr)));
  EXPECT_TRUE(at::equal(a, legacy->forward(p.batch, nullptr)));
  // And a different seed really gives different logits (the comparison can fail).
  o.gamma_beta_names = false;
  o.seed = 99;
  auto other = testing::tiny_bert(scratch, o, "other");
  EXPECT_GT(testing::max_abs_diff(a, other->forward(p.batch, nullptr)), 1e-3);
}

TEST(BertLoad, MissingTensorIsNamed) {
  Scratch scratch;
  tiny::TinyBertOptions o;
  o.omit = {"bert.encoder.layer.1.attention.self.key.bias"};
  tiny::write_tiny_bert(scratch.path("ckpt"), o);
  const std::string message = load_error(scratch.path("ckpt"));
  EXPECT_NE(message.find("bert.encoder.layer.1.attention.self.key.bias"), std::string::npos) << message;
  EXPECT_NE(message.find("missing"), std::string::npos) << message;
}

TEST(BertLoad, MissingLayerNormNamesBothSpellings) {
  Scratch scratch;
  tiny::TinyBertOptions o;
  o.gamma_beta_names = true;
  o.omit = {"bert.encoder.layer.0.output.LayerNorm.gamma"};
  tiny::write_tiny_bert(scratch.path("ckpt"), o);
  const std::string message = load_error(scratch.path("ckpt"));
  EXPECT_NE(message.find("bert.encoder.layer.0.output.LayerNorm.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("gamma"), std::string::npos) << message;
}

TEST(BertLoad, ExtraTensorIsNamed) {
  Scratch scratch;
  tiny::TinyBertOptions o;
  o.extra = {"bert.encoder.layer.0.attention.self.rotary.weight"};
  tiny::write_tiny_bert(scratch.path("ckpt"), o);
  const std::string message = load_error(scratch.path("ckpt"));
  EXPECT_NE(message.find("bert.encoder.layer.0.attention.self.rotary.weight"), std::string::npos) << message;
}

TEST(BertLoad, ExtraLayerBeyondConfigIsNamed) {
  Scratch scratch;
  tiny::TinyBertOptions o;
  o.layers = 3;
  tiny::write_tiny_bert(scratch.path("ckpt"), o);
  // config.json says 2 layers: layer 2's tensors are left over.
  auto config = nlohmann::json::parse(std::ifstream(scratch.path("ckpt/config.json")));
  config["num_hidden_layers"] = 2;
  std::ofstream(scratch.path("ckpt/config.json")) << config.dump();
  const std::string message = load_error(scratch.path("ckpt"));
  EXPECT_NE(message.find("bert.encoder.layer.2."), std::string::npos) << message;
}

TEST(BertLoad, WrongShapeIsNamedWithBothShapes) {
  Scratch scratch;
  tiny::TinyBertOptions o;
  o.override_shape = {{"bert.encoder.layer.0.intermediate.dense.weight", {64, 31}}};
  tiny::write_tiny_bert(scratch.path("ckpt"), o);
  const std::string message = load_error(scratch.path("ckpt"));
  EXPECT_NE(message.find("bert.encoder.layer.0.intermediate.dense.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("31"), std::string::npos) << message;
}

TEST(BertLoad, PoolerAndNspHeadAreIgnored) {
  Scratch scratch;
  tiny::TinyBertOptions o;
  o.with_pooler = true;
  o.extra = {"cls.seq_relationship.weight", "cls.seq_relationship.bias", "bert.embeddings.position_ids",
             "cls.predictions.decoder.bias"};
  EXPECT_NO_THROW(testing::tiny_bert(scratch, o));
}

TEST(BertLoad, BareEncoderHasNoLogits) {
  Scratch scratch;
  tiny::TinyBertOptions o;
  o.with_mlm_head = false;
  auto model = testing::tiny_bert(scratch, o);
  EXPECT_FALSE(model->has_lm_head());
  const auto p = testing::prompts(*model, {"the dog"});
  try {
    model->forward(p.batch, nullptr);
    FAIL() << "unembed on a bare encoder must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("MLM head"), std::string::npos) << e.what();
  }
  const auto names = model->hook_names();
  EXPECT_EQ(std::count(names.begin(), names.end(), "ln_final.hook_normalized"), 0);
}

TEST(BertLoad, GeometryAndIdentity) {
  Scratch scratch;
  tiny::TinyBertOptions o;
  o.layers = 3;
  o.heads = 2;
  o.d_model = 16;
  auto model = testing::tiny_bert(scratch, o);
  const Geometry g = model->geometry();
  EXPECT_EQ(g.n_layers, 3);
  EXPECT_EQ(g.n_heads, 2);
  EXPECT_EQ(g.n_kv_heads, 2);
  EXPECT_EQ(g.d_head, 8);
  EXPECT_EQ(g.d_model, 16);
  EXPECT_EQ(g.vocab_size, static_cast<int>(tiny::tiny_bert_vocab().size()));
  EXPECT_FALSE(g.causal);
  EXPECT_EQ(model->family(), "bert");
  EXPECT_EQ(model->identity().format, "hf-bert");
  EXPECT_EQ(model->hook_names().size(), 1u + 3u * 12u + 1u);
}

TEST(BertLoad, RegistryDetectsAndLoadsBert) {
  Scratch scratch;
  tiny::write_tiny_bert(scratch.path("ckpt"), {});
  const auto names = models::adapter_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "bert"), names.end());
  EXPECT_EQ(models::detect_adapter(scratch.path("ckpt")), "bert");
  models::LoadOptions options;
  options.path = scratch.path("ckpt");
  auto model = models::load("bert", options);
  EXPECT_EQ(model->family(), "bert");
  EXPECT_THROW(models::load("no_such_adapter", options), Error);
  // An unknown model_type names the file and the value.
  auto config = nlohmann::json::parse(std::ifstream(scratch.path("ckpt/config.json")));
  config["model_type"] = "gpt_neo";
  std::ofstream(scratch.path("ckpt/config.json")) << config.dump();
  try {
    models::detect_adapter(scratch.path("ckpt"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gpt_neo"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
  }
}

TEST(BertLoad, UnsupportedDtypeAndActivationAreErrors) {
  Scratch scratch;
  tiny::TinyBertOptions o;
  o.hidden_act = "mish";
  tiny::write_tiny_bert(scratch.path("ckpt"), o);
  const std::string message = load_error(scratch.path("ckpt"));
  EXPECT_NE(message.find("hidden_act"), std::string::npos) << message;
  tiny::write_tiny_bert(scratch.path("ok"), {});
  EXPECT_THROW(testing::load_bert(scratch.path("ok"), "float16"), Error);
}

TEST(BertLoad, Bfloat16ComputeTracksFloat32) {
  Scratch scratch;
  tiny::write_tiny_bert(scratch.path("ckpt"), {});
  auto f32 = testing::load_bert(scratch.path("ckpt"), "float32");
  auto bf16 = testing::load_bert(scratch.path("ckpt"), "bfloat16");
  EXPECT_EQ(bf16->options().dtype(), at::kBFloat16);
  const auto p = testing::prompts(*f32, {"the dog [MASK] .", "a cat"});
  const at::Tensor a = f32->forward(p.batch, nullptr);
  const at::Tensor b = bf16->forward(p.batch, nullptr);
  EXPECT_EQ(b.scalar_type(), at::kBFloat16);
  EXPECT_FALSE(b.isnan().any().item<bool>());
  // Bound and top-1 agreement derived in bf16_tolerance.hpp (2 layers).
  EXPECT_GT(testing::expect_bf16_tracks_f32(a, b, 2), 0);
}

TEST(BertEncode, ClsTextSepWithMaskAsAnswer) {
  Scratch scratch;
  auto model = testing::tiny_bert(scratch);
  InputSpec spec;
  spec.text = "The capital of France is [MASK].";
  const EncodedInput in = model->encode(spec);
  const std::vector<std::string> expected = {"[CLS]", "the", "capital", "of", "france", "is", "[MASK]", ".", "[SEP]"};
  EXPECT_EQ(in.tokens, expected);
  ASSERT_EQ(in.ids.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(model->token_string(in.ids[i]), expected[i]);
  EXPECT_EQ(in.answer_position, 6);
  EXPECT_EQ(in.annotations.front().modality, Modality::special);
  EXPECT_EQ(in.annotations.back().modality, Modality::special);
  EXPECT_EQ(in.annotations[6].modality, Modality::text);

  const EncodedInput raw = model->encode_raw("Paris is big");
  EXPECT_EQ(raw.tokens, (std::vector<std::string>{"paris", "is", "big"}));
  EXPECT_EQ(raw.answer_position, 2);  // no [MASK]: the last position

  spec.image = "/tmp/x.png";
  EXPECT_THROW(model->encode(spec), Error);
}

TEST(BertEncode, TooLongInputIsAnError) {
  Scratch scratch;
  tiny::TinyBertOptions o;
  o.max_positions = 8;
  auto model = testing::tiny_bert(scratch, o);
  const auto p = testing::prompts(*model, {"one two three four five six seven eight"});
  EXPECT_THROW(model->forward(p.batch, nullptr), Error);
}

}  // namespace
}  // namespace mechlens
