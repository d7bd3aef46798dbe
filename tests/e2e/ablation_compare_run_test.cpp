// End to end: `mechlens run` of ablation_compare on a tiny random BERT, beside
// sensitivity_matrix runs of the same inputs. The mechanics: each kind's
// matrix is the one sensitivity_matrix computes with that ablation (the same
// batched sweep), dataset_mean equals the input's own mean when every input
// is the same sentence, the statistics cover every pair of kinds, a sweep
// over some layers stores no statistics, and parameter mistakes are named.
// (Values against an independent float64 reference: tests/toys/toy_recipes_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "python_requirement.hpp"
#include "subprocess.hpp"
#include "tiny_bert.hpp"

namespace fs = std::filesystem;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;
using nlohmann::json;

namespace {

class AblationCompareRun : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mechlens-e2e-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    mechlens::tiny::TinyBertOptions options;
    options.layers = 3;
    options.heads = 4;
    options.seed = 11;
    mechlens::tiny::write_tiny_bert((dir_ / "tiny-bert").string(), options);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs a recipe made of `inputs` and `analyses`; returns the exit code and output.
  mechlens::testing::CommandResult run(const std::string& inputs, const std::string& analyses) {
    fs::remove(dir_ / "out.h5");  // a fresh archive each time (a failed run leaves a .partial)
    fs::remove(dir_ / "out.h5.partial");
    std::ofstream(dir_ / "recipe.toml") << "[experiment]\nname = \"e2e\"\n\n[model]\nadapter = \"bert\"\npath = "
                                           "\"tiny-bert\"\n\n"
                                        << inputs << "\n" << analyses;
    return run_command(mechlens::testing::mechlens_binary() + " run " + shell_quote((dir_ / "recipe.toml").string()) +
                       " --out " + shell_quote((dir_ / "out.h5").string()) + " 2>&1");
  }
  json read(const std::vector<std::string>& paths) {
    std::string args;
    for (const auto& p : paths) args += " " + shell_quote(p);
    const auto r = run_command("/usr/bin/python3 " MECHLENS_SOURCE_DIR "/tests/toys/read_datasets.py " +
                               shell_quote((dir_ / "out.h5").string()) + args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return json::parse(r.output);
  }
  fs::path dir_;
};

const char* kTwoInputs = R"([[inputs]]
id = "first"
text = "the cat sat on the [MASK] ."

[[inputs]]
id = "second"
text = "a dog runs to the [MASK] house"
)";

// Every entry of a [input][layer][head] matrix against slice `kind` of [kind][input][layer][head].
void expect_same_matrix(const json& compare, std::size_t kind, const json& single, const std::string& what) {
  ASSERT_EQ(compare[kind].size(), single.size()) << what;
  for (std::size_t i = 0; i < single.size(); ++i)
    for (std::size_t l = 0; l < single[i].size(); ++l)
      for (std::size_t h = 0; h < single[i][l].size(); ++h)
        EXPECT_NEAR(compare[kind][i][l][h].get<double>(), single[i][l][h].get<double>(), 1e-9)
            << what << " input " << i << " layer " << l << " head " << h;
}

TEST_F(AblationCompareRun, EachKindIsTheSensitivityMatrixOfThatAblation) {
  MECHLENS_REQUIRE_PYTHON("h5py");
  const auto r = run(kTwoInputs, R"([[analysis]]
plugin = "ablation_compare"
name = "compare"

[[analysis]]
plugin = "sensitivity_matrix"
name = "zero"
ablation = "zero"
metrics = ["top1_prob_change"]

[[analysis]]
plugin = "sensitivity_matrix"
name = "identity"
ablation = "identity"
metrics = ["top1_prob_change"]

[[analysis]]
plugin = "sensitivity_matrix"
name = "mean"
ablation = "mean"
metrics = ["top1_prob_change"]
)");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json a = read({"analyses/compare/sensitivity", "analyses/compare/kind", "analyses/compare/pair",
                       "analyses/compare/spearman", "analyses/compare/kendall", "analyses/compare/rank",
                       "analyses/compare/rank_shift", "analyses/compare/negligible_share_all_kinds",
                       "analyses/zero/top1_prob_change", "analyses/identity/top1_prob_change",
                       "analyses/mean/top1_prob_change", "analyses/compare/baseline_token",
                       "analyses/zero/baseline_token"});
  const json& s = a["analyses/compare/sensitivity"];
  EXPECT_EQ(a["analyses/compare/kind"], json({"zero", "identity", "mean", "dataset_mean"}));
  ASSERT_EQ(s.size(), 4u);
  ASSERT_EQ(s[0].size(), 2u);
  ASSERT_EQ(s[0][0].size(), 3u);
  ASSERT_EQ(s[0][0][0].size(), 4u);
  expect_same_matrix(s, 0, a["analyses/zero/top1_prob_change"], "zero");
  expect_same_matrix(s, 1, a["analyses/identity/top1_prob_change"], "identity");
  expect_same_matrix(s, 2, a["analyses/mean/top1_prob_change"], "mean");
  EXPECT_EQ(a["analyses/compare/baseline_token"], a["analyses/zero/baseline_token"]);
  // dataset_mean over two different sentences is not either input's own mean.
  double differs = 0.0;
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t l = 0; l < 3; ++l)
      for (std::size_t h = 0; h < 4; ++h)
        differs = std::max(differs, std::abs(s[3][i][l][h].get<double>() - s[2][i][l][h].get<double>()));
  EXPECT_GT(differs, 1e-4);
  // Six pairs of four kinds; correlations in [-1, 1]; ranks are a permutation of 1..12 per (kind, input).
  EXPECT_EQ(a["analyses/compare/pair"],
            json({"zero~identity", "zero~mean", "zero~dataset_mean", "identity~mean", "identity~dataset_mean",
                  "mean~dataset_mean"}));
  for (const char* stat : {"analyses/compare/spearman", "analyses/compare/kendall"}) {
    ASSERT_EQ(a[stat].size(), 2u);
    for (const auto& row : a[stat]) {
      ASSERT_EQ(row.size(), 6u);
      for (const auto& v : row) EXPECT_LE(std::abs(v.get<double>()), 1.0 + 1e-12);
    }
  }
  const json& rank = a["analyses/compare/rank"];
  for (std::size_t k = 0; k < 4; ++k)
    for (std::size_t i = 0; i < 2; ++i) {
      double sum = 0.0;
      for (const auto& layer : rank[k][i])
        for (const auto& v : layer) sum += v.get<double>();
      EXPECT_DOUBLE_EQ(sum, 78.0) << "ranks 1..12 sum to 78";
    }
  for (const auto& share : a["analyses/compare/negligible_share_all_kinds"]) {
    EXPECT_GE(share.get<double>(), 0.0);
    EXPECT_LE(share.get<double>(), 1.0);
  }
}

// Every input the same sentence: the dataset mean is each input's own mean.
TEST_F(AblationCompareRun, DatasetMeanOfIdenticalInputsIsTheInputMean) {
  MECHLENS_REQUIRE_PYTHON("h5py");
  const auto r = run(R"([[inputs]]
id = "a"
text = "the cat sat on the [MASK] ."

[[inputs]]
id = "b"
text = "the cat sat on the [MASK] ."
)",
                     R"([[analysis]]
plugin = "ablation_compare"
name = "compare"
kinds = ["mean", "dataset_mean"]
)");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json s = read({"analyses/compare/sensitivity"})["analyses/compare/sensitivity"];
  ASSERT_EQ(s.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t l = 0; l < 3; ++l)
      for (std::size_t h = 0; h < 4; ++h)
        EXPECT_NEAR(s[1][i][l][h].get<double>(), s[0][i][l][h].get<double>(), 1e-5) << i << " " << l << " " << h;
}

TEST_F(AblationCompareRun, SomeLayersStoreNoStatisticsAndMistakesAreNamed) {
  MECHLENS_REQUIRE_PYTHON("h5py");
  auto r = run(kTwoInputs, "[[analysis]]\nplugin = \"ablation_compare\"\nname = \"compare\"\nlayers = [1]\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto py = run_command(
      "/usr/bin/python3 -c 'import sys, h5py, numpy as np\n"
      "f = h5py.File(sys.argv[1], \"r\"); g = f[\"runs\"][sorted(f[\"runs\"])[-1]][\"analyses/compare\"]\n"
      "s = g[\"sensitivity\"][()]\n"
      "print(int(\"spearman\" in g), int(np.isnan(s[:, :, 1]).sum()), int(np.isnan(s).sum()))' " +
      shell_quote((dir_ / "out.h5").string()));
  ASSERT_EQ(py.exit_code, 0) << py.output;
  EXPECT_EQ(py.output, "0 0 64\n") << "no statistics; layer 1 computed; layers 0 and 2 NaN (4 kinds x 2 inputs x 2 x 4)";

  r = run(kTwoInputs, "[[analysis]]\nplugin = \"ablation_compare\"\nkinds = [\"zero\"]\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("needs at least two kinds"), std::string::npos) << r.output;
  r = run(kTwoInputs, "[[analysis]]\nplugin = \"ablation_compare\"\nkinds = [\"zero\", \"zero\"]\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("'zero' listed twice"), std::string::npos) << r.output;
  r = run(kTwoInputs, "[[analysis]]\nplugin = \"ablation_compare\"\nkinds = [\"zero\", \"half\"]\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("half"), std::string::npos) << r.output;
}

// Two shards merged equal the unsharded run: the dataset mean is taken over
// every recipe input in each shard, and the statistics over all inputs are
// computed again by the merge (merge_rules).
TEST_F(AblationCompareRun, MergedShardsEqualTheUnshardedRun) {
  MECHLENS_REQUIRE_PYTHON("h5py", "numpy");
  ASSERT_EQ(run(kTwoInputs, "[[analysis]]\nplugin = \"ablation_compare\"\nname = \"compare\"\n").exit_code, 0);
  const std::string m = mechlens::testing::mechlens_binary(), recipe = shell_quote((dir_ / "recipe.toml").string());
  const std::string sharded = shell_quote((dir_ / "sharded.h5").string());
  for (const char* shard : {"0/2", "1/2"}) {
    const auto r = run_command(m + " run " + recipe + " --out " + sharded + " --shard " + shard + " 2>&1");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const auto merged = run_command(m + " merge " + shell_quote((dir_ / "merged.h5").string()) + " " +
                                  shell_quote((dir_ / "sharded.shard-0-of-2.h5").string()) + " " +
                                  shell_quote((dir_ / "sharded.shard-1-of-2.h5").string()) + " 2>&1");
  ASSERT_EQ(merged.exit_code, 0) << merged.output;
  const auto py = run_command(
      "/usr/bin/python3 -c 'import sys, h5py, numpy as np\n"
      "def group(p):\n f = h5py.File(p, \"r\"); return f[\"runs\"][sorted(f[\"runs\"])[-1]][\"analyses/compare\"]\n"
      "a, b = group(sys.argv[1]), group(sys.argv[2])\n"
      "names = [\"sensitivity\", \"spearman\", \"kendall\", \"spearman_mean\", \"kendall_mean\", \"rank\", "
      "\"negligible_everywhere\", \"top_layer\", \"top_head\"]\n"
      "print(max(float(np.abs(a[n][()] - b[n][()]).max()) for n in names), int(a[\"sensitivity\"].shape[1]), "
      "int(b[\"sensitivity\"].shape[1]))' " +
      shell_quote((dir_ / "out.h5").string()) + " " + shell_quote((dir_ / "merged.h5").string()) + " 2>&1");
  ASSERT_EQ(py.exit_code, 0) << py.output;
  EXPECT_EQ(py.output, "0.0 2 2\n");
}

}  // namespace
