// The answer position is chosen on purpose and recorded (issue 9, items 3, 5
// and 8): a BERT prompt without a [MASK], or with two, is an error naming the
// input unless `answer_position` says where to read; the recipe key works
// for any adapter (negative from the end); inputs/ records how each position
// was chosen; an empty prompt is one error naming the input, for BERT and
// decoders alike.
#include <gtest/gtest.h>

#include <filesystem>

#include "run_support.hpp"
#include "tiny_qwen2.hpp"
#include "python_requirement.hpp"

namespace {

namespace fs = std::filesystem;
using namespace mechlens::testing;

std::string bert_recipe(const ScratchDir& dir, const std::string& inputs) {
  write_good_recipe(dir);  // the tiny BERT
  const std::string path = dir / "answer.toml";
  write_file(path, "[experiment]\nname = \"answer\"\n\n[model]\nadapter = \"bert\"\npath = \"tiny-bert\"\nthreads = 1\n\n" +
                       inputs + "\n[[analysis]]\nplugin = \"good\"\nlabel = \"x\"\n");
  return path;
}

TEST(AnswerPosition, BertWithoutMaskIsAnErrorNamingTheInput) {
  ScratchDir dir;
  SilentLog log;
  const std::string recipe = bert_recipe(dir, "[[inputs]]\nid = \"nomask\"\ntext = \"the cat sat on the mat\"\n");
  const std::string msg = error_message([&] { run_in_process(recipe, dir / "out.h5", log); });
  EXPECT_EQ(msg.rfind("input 'nomask': no [MASK] in the text", 0), 0u) << msg;
  EXPECT_NE(msg.find("answer_position"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(dir / "out.h5.partial"));
}

TEST(AnswerPosition, BertWithTwoMasksIsAnErrorListingThem) {
  ScratchDir dir;
  SilentLog log;
  const std::string recipe =
      bert_recipe(dir, "[[inputs]]\nid = \"two\"\ntext = \"[MASK] and [MASK]\"\n");
  const std::string msg = error_message([&] { run_in_process(recipe, dir / "out.h5", log); });
  // [CLS] [MASK] and [MASK] [SEP]
  EXPECT_EQ(msg.rfind("input 'two': 2 [MASK] tokens (positions 1, 3)", 0), 0u) << msg;
}

TEST(AnswerPosition, RecipeChoosesAndTheArchiveSaysHow) {
  MECHLENS_REQUIRE_PYTHON("h5py");
  ScratchDir dir;
  SilentLog log;
  const std::string recipe = bert_recipe(dir,
                                         "[[inputs]]\nid = \"mask\"\ntext = \"the cat sat on the [MASK] .\"\n\n"
                                         "[[inputs]]\nid = \"second\"\ntext = \"the [MASK] sat on the [MASK] .\"\n"
                                         "answer_position = -3\n\n"
                                         "[[inputs]]\nid = \"first\"\ntext = \"the [MASK] sat on the [MASK] .\"\n"
                                         "answer_position = 2\n");
  run_in_process(recipe, dir / "out.h5", log);
  const nlohmann::json a = read_archive_json(dir / "out.h5");
  // The tiny vocabulary spells "sat" and "on" in pieces: [CLS] the [MASK] s ##at o ##n the [MASK] . [SEP]
  // (11 tokens); -3 = index 8, the second [MASK].
  EXPECT_EQ(a.at("/runs/run_0001/inputs/answer_position")["values"], nlohmann::json::array({8, 8, 2}));
  EXPECT_EQ(a.at("/runs/run_0001/inputs/answer_position_source")["values"],
            nlohmann::json::array({"the [MASK] token", "recipe answer_position = -3", "recipe answer_position = 2"}));
  EXPECT_EQ(a.at("/runs/run_0001/inputs/by_id/second")["attrs"]["answer_position_source"],
            "recipe answer_position = -3");
  const std::string resolved = a.at("/runs/run_0001/provenance")["attrs"]["resolved_recipe"];
  EXPECT_NE(resolved.find("answer_position = -3"), std::string::npos) << resolved;
}

TEST(AnswerPosition, OutOfRangeNamesTheInputAndTheTokenCount) {
  ScratchDir dir;
  SilentLog log;
  const std::string recipe =
      bert_recipe(dir, "[[inputs]]\nid = \"far\"\ntext = \"the cat [MASK]\"\nanswer_position = -9\n");
  const std::string msg = error_message([&] { run_in_process(recipe, dir / "out.h5", log); });
  EXPECT_EQ(msg.rfind("input 'far': answer_position = -9 is outside the 5 tokens", 0), 0u) << msg;
}

TEST(AnswerPosition, EmptyTextIsOneErrorNamingTheInput) {
  ScratchDir dir;
  SilentLog log;
  const std::string recipe = bert_recipe(dir, "[[inputs]]\nid = \"blank\"\ntext = \"  \"\nanswer_position = -1\n");
  const std::string msg = error_message([&] { run_in_process(recipe, dir / "out.h5", log); });
  EXPECT_EQ(msg, "input 'blank': the text is empty and there is no image: nothing to analyse");
}

TEST(AnswerPosition, DecoderWithEmptyTextIsOneLineFromTheCli) {
  ScratchDir dir;
  mechlens::tiny::TinyQwen2Options options;
  mechlens::tiny::write_tiny_qwen2(dir / "tiny-qwen2", options);
  write_file(dir / "qwen.toml",
             "[experiment]\nname = \"q\"\n\n[model]\nadapter = \"qwen2\"\npath = \"tiny-qwen2\"\nthreads = 1\n\n"
             "[[inputs]]\nid = \"ok\"\ntext = \"hello\"\n\n[[inputs]]\nid = \"empty\"\ntext = \"\"\n\n"
             "[[analysis]]\nplugin = \"good\"\nlabel = \"x\"\n");
  const auto r = run_command("MECHLENS_PLUGIN_PATH=" + shell_quote(test_plugin_dir()) + " " +
                             shell_quote(mechlens_binary()) + " run " + shell_quote(dir / "qwen.toml") + " --out " +
                             shell_quote(dir / "q.h5") + " 2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("mechlens: error: input 'empty': the text is empty"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("out of bounds"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("frame #"), std::string::npos) << r.output;  // no C++ backtrace
}

}  // namespace
