// Phi-4-mm's config and rotary tables: partial rotary (the first
// int(head_dim * partial_rotary_factor) dims) and LongRoPE against values
// computed by hand from modeling_rope_utils.py's longrope rule, below and
// above original_max_position_embeddings.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "checkpoint/config.hpp"
#include "mechlens/error.hpp"
#include "models/layers/rotary.hpp"
#include "models/phi4mm/phi4mm_config.hpp"
#include "models/phi4mm/phi4mm_rope.hpp"

namespace mechlens::models::phi4mm {
namespace {

using nlohmann::json;

// The published remote-code config's decoder keys (MODELS.md), with 48
// factors each: short 1.0 .. 1.47, long rising to 47.77.
json real_config(const std::string& model_type = "phi4mm") {
  json shorts = json::array(), longs = json::array();
  for (int i = 0; i < 48; ++i) {
    shorts.push_back(1.0 + 0.01 * i);
    longs.push_back(1.0 + 46.77 * (i / 47.0) * (i / 47.0));
  }
  return {{"model_type", model_type},
          {"hidden_size", 3072},
          {"num_hidden_layers", 32},
          {"num_attention_heads", 24},
          {"num_key_value_heads", 8},
          {"intermediate_size", 8192},
          {"vocab_size", 200064},
          {"partial_rotary_factor", 0.75},
          {"rope_theta", 10000.0},
          {"max_position_embeddings", 131072},
          {"original_max_position_embeddings", 4096},
          {"rms_norm_eps", 1e-5},
          {"tie_word_embeddings", true},
          {"rope_scaling", {{"type", "longrope"}, {"short_factor", shorts}, {"long_factor", longs}}},
          {"vision_lora", {{"r", 256}, {"lora_alpha", 512}, {"dp", 0.0}}}};
}

Phi4mmConfig parse(const json& j) { return Phi4mmConfig::from(checkpoint::Config(j, "config.json")); }

TEST(Phi4mmConfig, ReadsThePublishedRemoteCodeKeys) {
  const Phi4mmConfig c = parse(real_config());
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.rotary_dim, 96);  // the first 96 of 128 dims rotate
  EXPECT_EQ(c.num_kv_heads, 8);
  EXPECT_TRUE(c.rope.enabled);
  EXPECT_EQ(c.rope.short_factor.size(), 48u);
  EXPECT_EQ(c.rope.original_max, 4096);
  // sqrt(1 + ln(131072 / 4096) / ln(4096)) = sqrt(1 + 5 ln 2 / 12 ln 2) = sqrt(17 / 12)
  EXPECT_NEAR(c.rope.attention_factor, std::sqrt(17.0 / 12.0), 1e-12);
  EXPECT_NEAR(c.rope.attention_factor, 1.1902, 1e-4);
  EXPECT_EQ(c.vision_lora_r, 256);
  EXPECT_DOUBLE_EQ(c.vision_lora_alpha, 512.0);
}

TEST(Phi4mmConfig, NativeRopeParametersGiveTheSameRope) {
  json j = real_config("phi4_multimodal");
  json rope = j["rope_scaling"];
  j.erase("rope_scaling");
  j.erase("partial_rotary_factor");
  j.erase("rope_theta");
  j.erase("vision_lora");
  rope.erase("type");
  rope["rope_type"] = "longrope";
  rope["rope_theta"] = 10000.0;
  rope["partial_rotary_factor"] = 0.75;
  j["rope_parameters"] = rope;
  j["vision_config"] = {{"image_token_id", 200010}};
  const Phi4mmConfig a = parse(real_config()), b = parse(j);
  EXPECT_EQ(b.rotary_dim, a.rotary_dim);
  EXPECT_EQ(b.rope.long_factor, a.rope.long_factor);
  EXPECT_DOUBLE_EQ(b.rope.attention_factor, a.rope.attention_factor);
  EXPECT_EQ(b.vision_lora_r, 0);  // native: adapter_config.json supplies it
  EXPECT_EQ(b.image_token_id, 200010);
}

TEST(Phi4mmConfig, ErrorsNameTheKey) {
  json j = real_config();
  j["rope_scaling"]["long_factor"].erase(0);
  try {
    parse(j);
    FAIL() << "47 factors accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("long_factor"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("48"), std::string::npos) << e.what();
  }
  j = real_config();
  j["rope_scaling"]["type"] = "dynamic";
  EXPECT_THROW(parse(j), Error);
  j = real_config();
  j["num_key_value_heads"] = 7;
  EXPECT_THROW(parse(j), Error);
}

// cos(pos * inv_freq_i) * factor by hand, in double: inv_freq_i = 1 / (ext_i * 10000^(2i/96)).
double expected_cos(const Phi4mmConfig& c, const std::vector<double>& ext, int pos, int i) {
  const double inv = 1.0 / (ext[i] * std::pow(10000.0, 2.0 * i / 96.0));
  return std::cos(pos * inv) * c.rope.attention_factor;
}
double expected_sin(const Phi4mmConfig& c, const std::vector<double>& ext, int pos, int i) {
  const double inv = 1.0 / (ext[i] * std::pow(10000.0, 2.0 * i / 96.0));
  return std::sin(pos * inv) * c.rope.attention_factor;
}

TEST(Phi4mmRope, ShortSequencesUseShortFactorsAndTheAttentionFactor) {
  const Phi4mmConfig c = parse(real_config());
  const auto t = rope_tables(c, 4096, at::kDouble, at::kCPU);  // == original: still short
  ASSERT_EQ(t.rotary_dim, 96);
  ASSERT_EQ(t.cos.size(0), 4096);
  for (int pos : {0, 1, 7, 100}) {
    for (int i : {0, 5, 23, 47}) {
      // cat(freqs, freqs): dims i and i + 48 carry the same angle.
      EXPECT_NEAR(t.cos[pos][0][i].item<double>(), expected_cos(c, c.rope.short_factor, pos, i), 1e-5) << pos << "," << i;
      EXPECT_NEAR(t.cos[pos][0][i + 48].item<double>(), expected_cos(c, c.rope.short_factor, pos, i), 1e-5);
      EXPECT_NEAR(t.sin[pos][0][i].item<double>(), expected_sin(c, c.rope.short_factor, pos, i), 1e-5);
    }
  }
  // The factor applies at position 0 too: cos(0) * 1.1902, not 1.
  EXPECT_NEAR(t.cos[0][0][0].item<double>(), 1.19024, 1e-5);
}

TEST(Phi4mmRope, LongSequencesSwitchToLongFactors) {
  const Phi4mmConfig c = parse(real_config());
  const auto t = rope_tables(c, 4097, at::kDouble, at::kCPU);  // one past the original context
  for (int pos : {1, 7, 100}) {
    for (int i : {1, 23, 47}) {
      EXPECT_NEAR(t.cos[pos][0][i].item<double>(), expected_cos(c, c.rope.long_factor, pos, i), 1e-5) << pos << "," << i;
      EXPECT_NEAR(t.sin[pos][0][i + 48].item<double>(), expected_sin(c, c.rope.long_factor, pos, i), 1e-5);
    }
  }
  // Same position, different length: the tables differ (the factors swapped).
  const auto s = rope_tables(c, 4096, at::kDouble, at::kCPU);
  EXPECT_GT((t.cos[100][0][10] - s.cos[100][0][10]).abs().item<double>(), 1e-2);
  // Positions far out (4000): float32 angles, so a looser bound.
  EXPECT_NEAR(t.cos[4000][0][10].item<double>(), expected_cos(c, c.rope.long_factor, 4000, 10), 1e-3);
}

TEST(Phi4mmRope, WithoutScalingTheDefaultRopeOnThePartialDims) {
  json j = real_config();
  j.erase("rope_scaling");
  const Phi4mmConfig c = parse(j);
  EXPECT_FALSE(c.rope.enabled);
  const auto t = rope_tables(c, 8, at::kDouble, at::kCPU);
  const std::vector<double> ones(48, 1.0);
  Phi4mmConfig unit = c;
  unit.rope.attention_factor = 1.0;
  EXPECT_NEAR(t.cos[5][0][3].item<double>(), expected_cos(unit, ones, 5, 3), 1e-5);
}

TEST(Phi4mmRope, PartialRotaryLeavesTheTailDimensionsAlone) {
  const Phi4mmConfig c = parse(real_config());
  const auto t = rope_tables(c, 6, at::kDouble, at::kCPU);
  const at::Tensor x = at::randn({1, 6, 2, 128}, at::kDouble);
  const at::Tensor y = layers::apply_rotary(x, t);
  EXPECT_TRUE(at::equal(y.narrow(-1, 96, 32), x.narrow(-1, 96, 32)));
  // Dim i rotates with dim i + 48 (rotate-half within the 96): at pos p,
  // y_i = x_i cos - x_{i+48} sin, y_{i+48} = x_{i+48} cos + x_i sin.
  for (int p : {0, 3, 5})
    for (int i : {0, 20, 47}) {
      const double cs = expected_cos(c, c.rope.short_factor, p, i), sn = expected_sin(c, c.rope.short_factor, p, i);
      const double xi = x[0][p][1][i].item<double>(), xj = x[0][p][1][i + 48].item<double>();
      EXPECT_NEAR(y[0][p][1][i].item<double>(), xi * cs - xj * sn, 1e-5);
      EXPECT_NEAR(y[0][p][1][i + 48].item<double>(), xj * cs + xi * sn, 1e-5);
    }
}

}  // namespace
}  // namespace mechlens::models::phi4mm
