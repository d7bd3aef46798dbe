// `mechlens tokenize` reads no weights for text (issue 9, item 13): a BERT,
// Qwen2 or Phi-4-mm checkpoint folder without its safetensors tokenizes as the adapter
// does, and so does a folder holding only the tokenizer files.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "host_test_support.hpp"
#include "models/registry.hpp"
#include "subprocess.hpp"
#include "tiny_llava_onevision.hpp"
#include "tiny_phi4mm.hpp"
#include "tiny_qwen2.hpp"

namespace {

namespace fs = std::filesystem;
using namespace mechlens::testing;

nlohmann::json adapter_json(const std::string& adapter, const std::string& dir, const std::string& text,
                            const std::string& image = "") {
  auto model = mechlens::models::load(adapter, {dir, "float32", "cpu"});
  mechlens::InputSpec spec;
  spec.text = text;
  if (!image.empty()) spec.image = image;
  const mechlens::EncodedInput in = model->encode(spec);
  nlohmann::json modalities = nlohmann::json::array();
  for (const auto& a : in.annotations) modalities.push_back(mechlens::to_string(a.modality));
  return {{"ids", in.ids}, {"tokens", in.tokens}, {"modalities", modalities}};
}

nlohmann::json tokenize_json(const std::string& dir, const std::string& text, const std::string& image = "") {
  const auto r = run_command(shell_quote(mechlens_binary()) + " tokenize " + shell_quote(dir) + " " + shell_quote(text) +
                             " --json" + (image.empty() ? "" : " --image " + shell_quote(image)));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return nlohmann::json::parse(r.output, nullptr, false);
}

TEST(TokenizeWithoutWeights, BertFolderWithoutWeightsAndTokenizerOnlyFolder) {
  ScratchDir dir;
  write_good_recipe(dir);  // writes tiny-bert
  const std::string text = "the cat sat on the [MASK] .";
  const nlohmann::json expected = adapter_json("bert", dir / "tiny-bert", text);

  fs::copy(dir / "tiny-bert", dir / "no-weights", fs::copy_options::recursive);
  fs::remove(dir / "no-weights/model.safetensors");
  EXPECT_EQ(tokenize_json(dir / "no-weights", text), expected);

  fs::create_directories(dir / "tokenizer-only");
  for (const char* f : {"vocab.txt", "tokenizer_config.json"})
    fs::copy_file(dir / (std::string("tiny-bert/") + f), dir / (std::string("tokenizer-only/") + f));
  EXPECT_EQ(tokenize_json(dir / "tokenizer-only", text), expected);
}

TEST(TokenizeWithoutWeights, Qwen2FolderWithoutWeights) {
  ScratchDir dir;
  mechlens::tiny::write_tiny_qwen2(dir / "tiny-qwen2", mechlens::tiny::TinyQwen2Options{});
  const std::string text = "Hello, world! <|im_start|>user";
  const nlohmann::json expected = adapter_json("qwen2", dir / "tiny-qwen2", text);
  fs::remove(dir / "tiny-qwen2/model.safetensors");
  EXPECT_EQ(tokenize_json(dir / "tiny-qwen2", text), expected);
  fs::remove(dir / "tiny-qwen2/config.json");  // tokenizer.json alone: its BPE model says qwen2
  EXPECT_EQ(tokenize_json(dir / "tiny-qwen2", text), expected);
}

// LLaVA-OneVision used to be loaded whole (tower, projector, decoder). Now
// config.json, the tokenizer and the processor files are enough, images too.
TEST(TokenizeWithoutWeights, LlavaOnevisionFolderWithoutWeights) {
  ScratchDir dir;
  mechlens::tiny::write_tiny_llava_onevision(dir / "tiny-llava", {});
  const std::string text = "What colour is it?";
  const std::string image = std::string(MECHLENS_TEST_DATA) + "/vision/fixtures/sq384.png";
  const nlohmann::json expected_text = adapter_json("llava_onevision", dir / "tiny-llava", text);
  const nlohmann::json expected_image = adapter_json("llava_onevision", dir / "tiny-llava", text, image);
  ASSERT_GT(expected_image["ids"].size(), expected_text["ids"].size() + 10);  // the image's tokens are there

  fs::create_directories(dir / "no-weights");
  std::size_t weights = 0;
  for (const auto& entry : fs::directory_iterator(dir / "tiny-llava")) {
    if (entry.path().extension() == ".safetensors" || entry.path().filename() == "model.safetensors.index.json")
      ++weights;
    else
      fs::copy_file(entry.path(), dir / "no-weights" / entry.path().filename());
  }
  ASSERT_GT(weights, 0u);
  EXPECT_EQ(tokenize_json(dir / "no-weights", text), expected_text);
  EXPECT_EQ(tokenize_json(dir / "no-weights", text, image), expected_image);
}

// Phi-4-mm text prompts: tokenizer.json alone (the 11 GB checkpoint is never
// opened); the chat format and the audio refusal as the adapter does them.
TEST(TokenizeWithoutWeights, Phi4mmFolderWithoutWeights) {
  ScratchDir dir;
  mechlens::tiny::write_tiny_phi4mm(dir / "tiny-phi4mm", mechlens::tiny::TinyPhi4mmOptions{});
  const std::string text = "Describe the picture, please.";
  const nlohmann::json expected = adapter_json("phi4mm", dir / "tiny-phi4mm", text);
  ASSERT_GT(expected["ids"].size(), 3u);
  fs::create_directories(dir / "no-weights");
  for (const auto& entry : fs::directory_iterator(dir / "tiny-phi4mm"))
    if (entry.path().extension() != ".safetensors" && entry.path().filename() != "model.safetensors.index.json" &&
        entry.is_regular_file())
      fs::copy_file(entry.path(), dir / "no-weights" / entry.path().filename());
  EXPECT_EQ(tokenize_json(dir / "no-weights", text), expected);
  const auto r = run_command(shell_quote(mechlens_binary()) + " tokenize " + shell_quote(dir / "no-weights") +
                             " 'listen <|audio_1|>'");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("tokenize"), std::string::npos) << r.output;
}

TEST(TokenizeWithoutWeights, FolderWithoutTokenizerIsOneError) {
  ScratchDir dir;
  fs::create_directories(dir / "empty");
  const auto r = run_command(shell_quote(mechlens_binary()) + " tokenize " + shell_quote(dir / "empty") + " 'x'");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("no config.json, vocab.txt or tokenizer.json"), std::string::npos) << r.output;
}

}  // namespace
