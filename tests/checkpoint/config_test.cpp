// config.json access with errors that name the file, the (nested) key, the line.
#include "checkpoint/config.hpp"

#include <gtest/gtest.h>

#include "mechlens/error.hpp"
#include "test_files.hpp"

namespace mechlens::checkpoint {
namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

class ConfigTest : public ::testing::Test {
 protected:
  testing::ScratchDir dir;
  std::string path = dir.file("config.json");
  Config load(const std::string& text) {
    testing::write_bytes(path, text);
    return Config::load(path);
  }
};

TEST_F(ConfigTest, ReadsValuesOfEachType) {
  auto c = load(R"({"hidden_size": 768, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
                    "tie_word_embeddings": true, "rope_scaling": null, "ids": [1, 2]})");
  EXPECT_EQ(c.get<int>("hidden_size"), 768);
  EXPECT_DOUBLE_EQ(c.get<double>("layer_norm_eps"), 1e-12);
  EXPECT_DOUBLE_EQ(c.get<double>("hidden_size"), 768.0);
  EXPECT_EQ(c.get<std::string>("hidden_act"), "gelu");
  EXPECT_TRUE(c.get<bool>("tie_word_embeddings"));
  EXPECT_EQ(c.get<std::vector<int>>("ids"), (std::vector<int>{1, 2}));
  EXPECT_TRUE(c.has("hidden_size"));
  EXPECT_FALSE(c.has("rope_scaling"));  // null counts as absent
  EXPECT_FALSE(c.has("vocab_size"));
  EXPECT_EQ(c.get_or<int>("vocab_size", 30522), 30522);
  EXPECT_EQ(c.get_or<int>("hidden_size", 1), 768);
  EXPECT_EQ(c.get_or<double>("rope_scaling", 2.0), 2.0);
  EXPECT_EQ(c.file(), path);
}

TEST_F(ConfigTest, MissingKeyNamesFileAndKey) {
  auto c = load(R"({"a": 1})");
  EXPECT_EQ(error_of([&] { c.get<int>("num_attention_heads"); }),
            path + ": key 'num_attention_heads' missing");
}

TEST_F(ConfigTest, WrongTypesAreErrors) {
  auto c = load(R"({"heads": "12", "layers": 12.5, "n": -3, "big": 10000000000, "flag": 1})");
  EXPECT_NE(error_of([&] { c.get<int>("heads"); }).find(path + ": key 'heads' has the wrong type (string"),
            std::string::npos);
  EXPECT_NE(error_of([&] { c.get<int>("layers"); }).find("key 'layers' has the wrong type"),
            std::string::npos);
  EXPECT_NE(error_of([&] { c.get<unsigned>("n"); }).find("key 'n' must not be negative"),
            std::string::npos);
  EXPECT_NE(error_of([&] { c.get<int>("big"); }).find("key 'big' is out of range"),
            std::string::npos);
  EXPECT_NE(error_of([&] { c.get<bool>("flag"); }).find("key 'flag' has the wrong type"),
            std::string::npos);
  // get_or only falls back when absent: a present value of the wrong type is an error.
  EXPECT_THROW(c.get_or<int>("heads", 1), Error);
}

TEST_F(ConfigTest, NestedConfigsNameTheFullKey) {
  auto c = load(R"({"text_config": {"hidden_size": 896, "rope": {"theta": 1e6}}, "vision_config": 3})");
  Config text = c.child("text_config");
  EXPECT_EQ(text.get<int>("hidden_size"), 896);
  EXPECT_EQ(text.child("rope").get<double>("theta"), 1e6);
  EXPECT_EQ(error_of([&] { text.get<int>("num_hidden_layers"); }),
            path + ": key 'text_config.num_hidden_layers' missing");
  EXPECT_EQ(error_of([&] { text.child("rope").get<int>("dim"); }),
            path + ": key 'text_config.rope.dim' missing");
  EXPECT_EQ(text.where("x"), path + ": key 'text_config.x'");
  EXPECT_NE(error_of([&] { c.child("vision_config"); }).find("key 'vision_config' has the wrong type"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { c.child("audio_config"); }), path + ": key 'audio_config' missing");
}

TEST_F(ConfigTest, ParseErrorsNameFileLineAndColumn) {
  // The stray comma after "b": 2 is on line 3; nlohmann stops at the '}' after it.
  std::string message = error_of([&] { load("{\n  \"a\": 1,\n  \"b\": 2,\n}\n"); });
  EXPECT_EQ(message.rfind(path + ":4:1: invalid JSON", 0), 0u) << message;
  message = error_of([&] { load("{\"a\": tru}"); });
  EXPECT_EQ(message.rfind(path + ":1:", 0), 0u) << message;
  EXPECT_NE(message.find("invalid JSON"), std::string::npos);
}

TEST_F(ConfigTest, FileErrors) {
  EXPECT_EQ(error_of([&] { Config::load(dir.file("absent.json")); }),
            dir.file("absent.json") + ": cannot open");
  EXPECT_EQ(error_of([&] { load("[1, 2]"); }), path + ": is not a JSON object");
}

}  // namespace
}  // namespace mechlens::checkpoint
