// Qwen2 config parsing: transformers' defaults for absent keys, refusals
// for what the decoder does not implement, errors naming file and key.
#include <gtest/gtest.h>

#include "models/qwen2/qwen2_config.hpp"

namespace mechlens::models::qwen2 {
namespace {

checkpoint::Config config(const nlohmann::json& json) { return checkpoint::Config(json, "ckpt/config.json", "text_config."); }

TEST(Qwen2Config, AbsentKeysTakeQwen2ConfigDefaults) {
  const Qwen2Config c = Qwen2Config::from(config({{"model_type", "qwen2"}, {"rope_theta", 1000000}}));
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.num_layers, 32);
  EXPECT_EQ(c.num_heads, 32);
  EXPECT_EQ(c.num_kv_heads, 32);
  EXPECT_EQ(c.intermediate_size, 22016);
  EXPECT_EQ(c.vocab_size, 151936);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_FALSE(c.tie_word_embeddings);
  const Qwen2Config null_kv = Qwen2Config::from(config({{"num_attention_heads", 14}, {"hidden_size", 896}, {"num_key_value_heads", nullptr}}));
  EXPECT_EQ(null_kv.num_kv_heads, 14);
}

TEST(Qwen2Config, ZeroPointFiveBShape) {
  const Qwen2Config c = Qwen2Config::from(config({{"hidden_size", 896}, {"num_attention_heads", 14}, {"num_key_value_heads", 2},
                                                  {"intermediate_size", 4864}, {"num_hidden_layers", 24}, {"vocab_size", 152000},
                                                  {"tie_word_embeddings", true}, {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 1e6}}}}));
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.num_heads / c.num_kv_heads, 7);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_TRUE(c.tie_word_embeddings);
}

TEST(Qwen2Config, UnsupportedFeaturesAreRefusedNamingTheKey) {
  const auto message = [](const nlohmann::json& j) {
    try {
      Qwen2Config::from(config(j));
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"rope_scaling", {{"type", "yarn"}, {"factor", 4.0}}}}).find("rope_scaling"), std::string::npos);
  EXPECT_NE(message({{"use_sliding_window", true}}).find("use_sliding_window"), std::string::npos);
  EXPECT_NE(message({{"num_attention_heads", 14}, {"num_key_value_heads", 3}, {"hidden_size", 896}}).find("num_key_value_heads"),
            std::string::npos);
  EXPECT_NE(message({{"hidden_size", -1}}).find("text_config.hidden_size"), std::string::npos);
}

}  // namespace
}  // namespace mechlens::models::qwen2
