// run_recipe end to end with the test plugin on a tiny BERT: results and
// provenance land in the archive (read back with h5py alone), a failing
// analysis leaves the archive untouched and a resumable `.partial`, and a bad
// parameter is caught before the model is loaded.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "host/run.hpp"
#include "host_test_support.hpp"
#include "mechlens/abi.hpp"
#include "models/registry.hpp"
#include "recipe/recipe.hpp"
#include "subprocess.hpp"
#include "python_requirement.hpp"

namespace {

namespace fs = std::filesystem;
using mechlens::Error;
using namespace mechlens::testing;

struct Silent : mechlens::Logger, mechlens::Progress {
  std::vector<std::string> warnings;
  void info(const std::string&) override {}
  void warn(const std::string& m) override { warnings.push_back(m); }
  void update(const std::string&, std::int64_t, std::int64_t) override {}
};

nlohmann::json read_archive(const std::string& path) {
  const auto r = run_command("/usr/bin/python3 " + shell_quote(std::string(MECHLENS_SOURCE_DIR) + "/tests/host/read_archive.py") +
                             " " + shell_quote(path));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return nlohmann::json::parse(r.output);
}

class RunRecipe : public ::testing::Test {
 protected:
  void SetUp() override {
    MECHLENS_REQUIRE_PYTHON("h5py");
    recipe_path_ = write_good_recipe(dir_);
    out_ = dir_ / "out.h5";
  }
  mechlens::host::RunResult run(const std::vector<std::string>& overrides = {}, bool resume = false) {
    mechlens::host::RunOptions options;
    options.out = out_;
    options.resume = resume;
    options.logger = &silent_;
    options.progress = &silent_;
    options.plugin_dirs = {test_plugin_dir()};
    return mechlens::host::run_recipe(mechlens::recipe::load(recipe_path_, overrides), options);
  }

  ScratchDir dir_;
  Silent silent_;
  std::string recipe_path_, out_;
};

TEST_F(RunRecipe, ResultsAndProvenanceAreInTheArchive) {
  const auto result = run();
  EXPECT_EQ(result.archive, out_);
  EXPECT_EQ(result.run_name, "run_0001");
  ASSERT_EQ(result.findings.size(), 1u);
  EXPECT_EQ(result.findings[0].analysis, "good");
  EXPECT_EQ(result.findings[0].text, "lbl sum = 3.000000");  // 0.5 * (1 + 2 + 3)
  EXPECT_FALSE(fs::exists(out_ + ".partial"));

  const nlohmann::json a = read_archive(out_);
  // Run attributes and provenance/ (schemas/results.md §5, §6.0).
  const auto& run = a.at("/runs/run_0001")["attrs"];
  EXPECT_EQ(run["status"], "complete");
  EXPECT_EQ(run["recipe_path"], recipe_path_);
  EXPECT_EQ(run["plugin_abi"], mechlens::kPluginAbiVersion);
  EXPECT_EQ(run["analyses"], nlohmann::json::array({"good"}));
  const auto& prov = a.at("/runs/run_0001/provenance")["attrs"];
  EXPECT_EQ(prov["recipe"], read_file(recipe_path_));
  const auto sum = run_command("sha256sum " + shell_quote(recipe_path_));
  EXPECT_EQ(prov["recipe_sha256"], sum.output.substr(0, 64));
  EXPECT_EQ(prov["threads"], 1);  // the recipe's model.threads
  EXPECT_EQ(prov["dtype"], "float32");
  EXPECT_GE(prov["time.analysis.good"].get<double>(), 0.0);
  EXPECT_GE(prov["time.total"].get<double>(), prov["time.analysis.good"].get<double>());
  // The resolved recipe holds the plugin's defaults too, and parses as TOML.
  const std::string resolved = prov["resolved_recipe"];
  EXPECT_NE(resolved.find("steps = 3\n"), std::string::npos) << resolved;
  write_file(dir_ / "resolved.toml", resolved);
  const auto parsed = run_command("/usr/bin/python3 -c " +
                                  shell_quote("import sys, tomllib; r = tomllib.load(open(sys.argv[1], 'rb')); "
                                              "print(r['analysis'][0]['steps'], r['inputs'][1]['id'], r['model']['adapter'])") +
                                  " " + shell_quote(dir_ / "resolved.toml"));
  EXPECT_EQ(parsed.output, "3 second bert\n") << resolved;

  const auto& values = a.at("/runs/run_0001/analyses/good/values");
  EXPECT_EQ(values["values"], nlohmann::json::array({0.5, 1.0, 1.5}));
  EXPECT_EQ(values["dims"], nlohmann::json::array({"step"}));
  const auto& good = a.at("/runs/run_0001/analyses/good")["attrs"];
  EXPECT_EQ(good["plugin"], "good");
  EXPECT_EQ(good["plugin_version"], "2.3.4");
  EXPECT_EQ(good["plugin_library"], test_plugin("good"));
  EXPECT_EQ(good["status"], "complete");
  // Every resolved parameter, defaults included, as TOML text and one attribute each.
  const std::string params = good["params"];
  EXPECT_NE(params.find("steps = 3\n"), std::string::npos) << params;
  EXPECT_NE(params.find("label = \"lbl\"\n"), std::string::npos) << params;
  EXPECT_NE(params.find("fail = false\n"), std::string::npos) << params;
  EXPECT_EQ(good["param.scale"], 0.5);
  EXPECT_EQ(good["param.mode"], "sum");
  EXPECT_EQ(good["param.fail"], 0);
  EXPECT_GE(good["seconds"].get<double>(), 0.0);

  // The inputs as the model saw them: what the adapter produces for each text.
  auto model = mechlens::models::load("bert", {dir_ / "tiny-bert", "float32", "cpu"});
  const std::vector<std::string> ids{"first", "second"};
  const std::vector<std::string> texts{"the cat sat on the [MASK] .", "a dog runs"};
  nlohmann::json lengths = nlohmann::json::array(), answers = nlohmann::json::array();
  for (std::size_t i = 0; i < texts.size(); ++i) {
    mechlens::InputSpec spec;
    spec.text = texts[i];
    const mechlens::EncodedInput expected = model->encode(spec);
    const std::string group = "/runs/run_0001/inputs/by_id/" + ids[i];
    EXPECT_EQ(a.at(group + "/ids")["values"], nlohmann::json(expected.ids)) << group;
    EXPECT_EQ(a.at(group + "/tokens")["values"], nlohmann::json(expected.tokens)) << group;
    EXPECT_EQ(a.at(group + "/tokens")["dims"], nlohmann::json::array({"pos"})) << group;
    std::vector<int> modality;
    for (const auto& ann : expected.annotations) modality.push_back(static_cast<int>(ann.modality));
    EXPECT_EQ(a.at(group + "/modality")["values"], nlohmann::json(modality)) << group;
    EXPECT_EQ(a.at(group)["attrs"]["answer_position"], expected.answer_position);
    lengths.push_back(expected.ids.size());
    answers.push_back(expected.answer_position);
  }
  EXPECT_EQ(a.at("/runs/run_0001/analyses/good/n_tokens")["values"], lengths);
  EXPECT_EQ(a.at("/runs/run_0001/inputs/input")["values"], nlohmann::json(ids));
  EXPECT_EQ(a.at("/runs/run_0001/inputs/text")["values"], nlohmann::json(texts));
  EXPECT_EQ(a.at("/runs/run_0001/inputs/n_tokens")["values"], lengths);
  EXPECT_EQ(a.at("/runs/run_0001/inputs/answer_position")["values"], answers);
  EXPECT_EQ(a.at("/runs/run_0001/inputs/image_sha256")["values"], nlohmann::json::array({"", ""}));

  // Checkpoint identity: the config's SHA-256 as sha256sum computes it.
  const auto config_sum = run_command("sha256sum " + shell_quote(dir_ / "tiny-bert/config.json"));
  ASSERT_EQ(config_sum.exit_code, 0);
  const auto& model_attrs = a.at("/runs/run_0001/model")["attrs"];
  EXPECT_EQ(model_attrs["config_sha256"], config_sum.output.substr(0, 64));
  EXPECT_EQ(model_attrs["adapter"], "bert");
  EXPECT_EQ(model_attrs["n_layers"], 2);
  EXPECT_EQ(model_attrs["n_heads"], 2);
}

TEST_F(RunRecipe, FailingAnalysisLeavesArchiveUntouchedAndPartialResumable) {
  run();
  const std::string before = read_file(out_);

  try {
    const ScopedEnv fail("MECHLENS_TEST_FAIL", "good");
    run();
    FAIL() << "the failing analysis did not fail the run";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("analysis 'good' (good): ", 0), 0u) << message;
    EXPECT_NE(message.find("asked to fail after writing"), std::string::npos) << message;
    EXPECT_NE(message.find(out_ + ".partial"), std::string::npos) << message;
    EXPECT_NE(message.find("--resume"), std::string::npos) << message;
  }
  EXPECT_EQ(read_file(out_), before) << "the archive changed";
  ASSERT_TRUE(fs::exists(out_ + ".partial"));
  // The partial file is readable and holds what the plugin wrote before failing.
  const nlohmann::json partial = read_archive(out_ + ".partial");
  EXPECT_EQ(partial.at("/runs/run_0002/analyses/good/values")["values"], nlohmann::json::array({0.5, 1.0, 1.5}));

  // Without --resume a new run refuses to overwrite the unfinished one.
  EXPECT_THROW(run(), Error);
  // With it, the run completes and is appended after the first.
  const auto resumed = run({}, true);
  EXPECT_EQ(resumed.run_name, "run_0002");
  EXPECT_FALSE(fs::exists(out_ + ".partial"));
  const nlohmann::json a = read_archive(out_);
  EXPECT_TRUE(a.contains("/runs/run_0001/analyses/good/values"));
  EXPECT_TRUE(a.contains("/runs/run_0002/analyses/good/values"));
}

TEST_F(RunRecipe, ResumeSkipsAnalysesThatFinishedBeforeTheFailure) {
  write_file(recipe_path_, read_file(recipe_path_) +
                               "name = \"one\"\n\n[[analysis]]\nplugin = \"good\"\nname = \"two\"\nlabel = \"second\"\n");
  {
    const ScopedEnv fail("MECHLENS_TEST_FAIL", "two");
    EXPECT_THROW(run(), Error);
  }
  ASSERT_TRUE(fs::exists(out_ + ".partial"));
  ASSERT_FALSE(fs::exists(out_));

  const auto resumed = run({}, true);
  // "one" finished before the failure: not run again, so only "two" reports.
  ASSERT_EQ(resumed.findings.size(), 1u);
  EXPECT_EQ(resumed.findings[0].analysis, "two");
  EXPECT_EQ(resumed.findings[0].text, "second sum = 6.000000");
  const nlohmann::json a = read_archive(out_);
  EXPECT_EQ(a.at("/runs/run_0001/analyses/one/values")["values"], nlohmann::json::array({0.5, 1.0, 1.5}));
  EXPECT_EQ(a.at("/runs/run_0001/analyses/two/values")["values"], nlohmann::json::array({1.0, 2.0, 3.0}));
  EXPECT_EQ(a.at("/runs/run_0001/analyses/one")["attrs"]["status"], "complete");
  EXPECT_EQ(a.at("/runs/run_0001/analyses/two")["attrs"]["status"], "complete");
  EXPECT_EQ(a.at("/runs/run_0001")["attrs"]["analyses"], nlohmann::json::array({"one", "two"}));
}

TEST_F(RunRecipe, BadParameterIsCaughtBeforeTheModelLoads) {
  // The checkpoint folder does not exist: only an error raised before the
  // model is loaded can be about the parameter.
  std::string text = read_file(recipe_path_);
  text.replace(text.find("path = \"tiny-bert\""), 18, "path = \"no-such-model\"");
  write_file(recipe_path_, text + "steps = 0\n");
  try {
    run();
    FAIL() << "ran with steps = 0";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("steps"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out_));
  EXPECT_FALSE(fs::exists(out_ + ".partial"));
}

}  // namespace
