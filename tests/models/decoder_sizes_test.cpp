// The size checks every decoder config runs (Qwen2, Phi-4-mm), through
// Qwen2Config::from: a non-positive size and KV heads that do not divide the
// query heads are refused, naming config.json's key.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "mechlens/error.hpp"
#include "models/qwen2/qwen2_config.hpp"

namespace mechlens {
namespace {

std::string error_of(const nlohmann::json& json) {
  try {
    models::qwen2::Qwen2Config::from(checkpoint::Config(json, "config.json"));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(DecoderSizes, NonPositiveSizesAndIndivisibleKvHeadsAreRefusedByKey) {
  const nlohmann::json good = {{"hidden_size", 64}, {"num_hidden_layers", 2}, {"num_attention_heads", 8},
                               {"num_key_value_heads", 2}, {"intermediate_size", 128}, {"vocab_size", 100}};
  EXPECT_EQ(error_of(good), "(no error)");
  nlohmann::json zero_vocab = good;
  zero_vocab["vocab_size"] = 0;
  EXPECT_NE(error_of(zero_vocab).find("vocab_size"), std::string::npos) << error_of(zero_vocab);
  EXPECT_NE(error_of(zero_vocab).find("must be positive, got 0"), std::string::npos) << error_of(zero_vocab);
  nlohmann::json three_kv = good;
  three_kv["num_key_value_heads"] = 3;
  EXPECT_NE(error_of(three_kv).find("3 does not divide num_attention_heads 8"), std::string::npos) << error_of(three_kv);
  EXPECT_NE(error_of(three_kv).find("num_key_value_heads"), std::string::npos) << error_of(three_kv);
}

}  // namespace
}  // namespace mechlens
