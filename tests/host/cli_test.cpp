// The `mechlens` executable as a user meets it: exit codes (0 ok, 2 usage,
// 1 any other error), one-line errors on stderr, and each subcommand's output.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "host_test_support.hpp"
#include "mechlens/abi.hpp"
#include "models/registry.hpp"
#include "subprocess.hpp"
#include "python_requirement.hpp"

namespace {

using namespace mechlens::testing;

// The binary with the test plugins on its search path.
CommandResult mechlens_cli(const std::string& args) {
  return run_command("MECHLENS_PLUGIN_PATH=" + shell_quote(test_plugin_dir()) + " " +
                     shell_quote(mechlens_binary()) + " " + args);
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Exactly one line, "mechlens: error: ...".
void expect_one_line_error(const CommandResult& r, const std::string& part) {
  const auto ls = lines(r.output);
  ASSERT_EQ(ls.size(), 1u) << r.output;
  EXPECT_EQ(ls[0].rfind("mechlens: error: ", 0), 0u) << r.output;
  EXPECT_NE(ls[0].find(part), std::string::npos) << r.output;
}

// `run` prints progress lines first; the error is still one line, the last.
void expect_error_last(const CommandResult& r, const std::string& part) {
  const auto ls = lines(r.output);
  ASSERT_FALSE(ls.empty());
  int errors = 0;
  for (const auto& l : ls) errors += l.rfind("mechlens: error: ", 0) == 0;
  EXPECT_EQ(errors, 1) << r.output;
  EXPECT_EQ(ls.back().rfind("mechlens: error: ", 0), 0u) << r.output;
  EXPECT_NE(ls.back().find(part), std::string::npos) << r.output;
}

TEST(Cli, HelpAndVersion) {
  auto r = mechlens_cli("--help");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* command : {"run", "validate", "plugins", "describe", "inspect", "tokenize"})
    EXPECT_NE(r.output.find(std::string("  ") + command + " "), std::string::npos) << command << "\n" << r.output;
  for (const char* command : {"run", "validate", "plugins", "describe", "inspect", "tokenize"}) {
    r = mechlens_cli(std::string(command) + " --help");
    EXPECT_EQ(r.exit_code, 0) << command << ": " << r.output;
    EXPECT_EQ(r.output.rfind(std::string("usage: mechlens ") + command, 0), 0u) << r.output;
    EXPECT_EQ(mechlens_cli(std::string(command) + " -h").output, r.output);
  }
  r = mechlens_cli("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find(mechlens::kVersion), std::string::npos) << r.output;
}

TEST(Cli, UsageErrorsExitTwoWithOneLine) {
  auto r = mechlens_cli("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  expect_one_line_error(r, "unknown command 'frobnicate'");
  r = mechlens_cli("run");
  EXPECT_EQ(r.exit_code, 2);
  expect_one_line_error(r, "missing RECIPE");
  r = mechlens_cli("describe good --no-such-option");
  EXPECT_EQ(r.exit_code, 2);
  expect_one_line_error(r, "no-such-option");
  r = mechlens_cli("validate a.toml b.toml");
  EXPECT_EQ(r.exit_code, 2);
  expect_one_line_error(r, "too many arguments");
  r = run_command(shell_quote(mechlens_binary()));
  EXPECT_EQ(r.exit_code, 2);
}

TEST(Cli, DescribeShowsEveryParameter) {
  const auto r = mechlens_cli("describe good");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("good 2.3.4\n", 0), 0u) << r.output;
  EXPECT_NE(r.output.find(test_plugin("good")), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("  label (string, required)\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("  steps (int, default 3, range [1, 10])\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("  scale (float, default 1, at least 0)\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("  mode (string, default \"sum\")\n      one of: sum, mean\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("  fail (bool, default false)\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("How many values to write"), std::string::npos) << r.output;
}

TEST(Cli, DescribeUnknownOrBrokenPluginFails) {
  auto r = mechlens_cli("describe nope");
  EXPECT_EQ(r.exit_code, 1);
  expect_one_line_error(r, "no plugin 'nope' (found: ");
  EXPECT_NE(r.output.find("good"), std::string::npos);
  r = mechlens_cli("describe bad_abi");
  EXPECT_EQ(r.exit_code, 1);
  expect_one_line_error(r, "rebuild the plugin");
}

TEST(Cli, PluginsListsNameVersionSummaryAndPath) {
  const auto r = mechlens_cli("plugins");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  bool listed = false;
  for (const auto& l : lines(r.output))
    if (l.rfind("good ", 0) == 0) {
      listed = true;
      EXPECT_NE(l.find("2.3.4"), std::string::npos) << l;
      EXPECT_NE(l.find("Test plugin: writes"), std::string::npos) << l;
    }
  EXPECT_TRUE(listed) << r.output;
  EXPECT_NE(r.output.find(test_plugin("good")), std::string::npos) << r.output;
  // The broken test plugins are reported, not silently dropped.
  EXPECT_NE(r.output.find("warning: could not load " + test_plugin("bad_abi")), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("warning: could not load " + test_plugin("no_factory")), std::string::npos) << r.output;
}

TEST(Cli, ValidateGoodAndBadRecipes) {
  ScratchDir dir;
  const std::string recipe = write_good_recipe(dir);
  auto r = mechlens_cli("validate " + shell_quote(recipe));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "ok: 2 inputs, 1 analyses\n");

  r = mechlens_cli("validate " + shell_quote(recipe) + " --set analysis.0.steps=11");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  expect_one_line_error(r, "steps");

  write_file(recipe, read_file(recipe) + "mode = \"median\"\n");
  r = mechlens_cli("validate " + shell_quote(recipe));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  expect_one_line_error(r, recipe + ":");
  EXPECT_NE(r.output.find("median"), std::string::npos) << r.output;

  r = mechlens_cli("validate " + shell_quote(dir / "absent.toml"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  expect_one_line_error(r, dir / "absent.toml");
}

TEST(Cli, RunPrintsFindingsAndArchiveThenInspectListsIt) {
  MECHLENS_REQUIRE_PYTHON("h5py");
  ScratchDir dir;
  const std::string recipe = write_good_recipe(dir);
  const std::string out = dir / "cli.h5";
  auto r = run_command("(MECHLENS_PLUGIN_PATH=" + shell_quote(test_plugin_dir()) + " " + shell_quote(mechlens_binary()) +
                       " run " + shell_quote(recipe) + " --out " + shell_quote(out) +
                       " --set analysis.0.mode=mean 2>/dev/null)");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // stdout: the findings and the archive, nothing else.
  EXPECT_EQ(r.output, "good: lbl mean = 1.000000\nresults: " + out + " (run_0001)\n");

  r = mechlens_cli("inspect " + shell_quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("run_0001"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("values"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("step"), std::string::npos) << r.output;

  r = mechlens_cli("inspect " + shell_quote(dir / "absent.h5"));
  EXPECT_EQ(r.exit_code, 1);
  expect_one_line_error(r, dir / "absent.h5");
}

TEST(Cli, RunFailureIsOneLineAndExitsOne) {
  ScratchDir dir;
  const std::string recipe = write_good_recipe(dir);
  const auto r = mechlens_cli("run " + shell_quote(recipe) + " --out " + shell_quote(dir / "x.h5") +
                              " --set analysis.0.fail=true");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  expect_error_last(r, "analysis 'good' (good): asked to fail after writing");
}

TEST(Cli, TokenizeMatchesTheAdapter) {
  ScratchDir dir;
  write_good_recipe(dir);  // writes the tiny BERT
  const std::string model_dir = dir / "tiny-bert";
  auto model = mechlens::models::load("bert", {model_dir, "float32", "cpu"});
  mechlens::InputSpec spec;
  spec.text = "the cat sat";
  const mechlens::EncodedInput full = model->encode(spec);
  const mechlens::EncodedInput raw = model->encode_raw("the cat sat");
  ASSERT_NE(full.ids, raw.ids);  // [CLS] ... [SEP] vs the words alone

  auto r = mechlens_cli("tokenize " + shell_quote(model_dir) + " 'the cat sat' --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto json = nlohmann::json::parse(r.output);
  EXPECT_EQ(json["ids"], nlohmann::json(full.ids));
  EXPECT_EQ(json["tokens"], nlohmann::json(full.tokens));
  EXPECT_EQ(json["modalities"].size(), full.ids.size());
  EXPECT_EQ(json["modalities"][0], "special");

  r = mechlens_cli("tokenize " + shell_quote(model_dir) + " 'the cat sat' --json --raw");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output)["ids"], nlohmann::json(raw.ids));

  // Plain output: one row per token.
  r = mechlens_cli("tokenize " + shell_quote(model_dir) + " 'the cat sat'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(lines(r.output).size(), full.ids.size() + 2) << r.output;
  EXPECT_NE(r.output.find(full.tokens[1]), std::string::npos);

  // JSON lines in, one object per line out.
  write_file(dir / "prompts.jsonl", "\"the cat sat\"\n\n\"a dog\"\n");
  r = mechlens_cli("tokenize " + shell_quote(model_dir) + " --jsonl " + shell_quote(dir / "prompts.jsonl") + " --raw");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto out = lines(r.output);
  ASSERT_EQ(out.size(), 2u) << r.output;
  EXPECT_EQ(nlohmann::json::parse(out[0])["ids"], nlohmann::json(raw.ids));
  EXPECT_EQ(nlohmann::json::parse(out[1])["tokens"], nlohmann::json(model->encode_raw("a dog").tokens));

  write_file(dir / "bad.jsonl", "\"ok\"\n42\n");
  r = mechlens_cli("tokenize " + shell_quote(model_dir) + " --jsonl " + shell_quote(dir / "bad.jsonl"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find(dir / "bad.jsonl" + ":2"), std::string::npos) << r.output;

  r = mechlens_cli("tokenize " + shell_quote(model_dir));
  EXPECT_EQ(r.exit_code, 2);
  expect_one_line_error(r, "TEXT or --jsonl");
}

}  // namespace
