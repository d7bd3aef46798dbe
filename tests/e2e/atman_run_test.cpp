// The atman plugin end to end through `mechlens run`: the shipped toy
// recipes (experiments/toy/*_atman.toml) report the planted mechanism in the
// archive (read with h5py alone) and draw their figures; a BERT MLM (no
// causal mask, target at the [MASK]) runs too.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "archive_dump.hpp"
#include "python_requirement.hpp"
#include "subprocess.hpp"
#include "tiny_bert.hpp"

namespace fs = std::filesystem;
using mechlens::testing::dump_group;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;
using nlohmann::json;

namespace {

const fs::path kToys = fs::path(MECHLENS_SOURCE_DIR) / "experiments" / "toy";

class AtManRun : public ::testing::Test {
 protected:
  void SetUp() override {
    MECHLENS_REQUIRE_PYTHON("h5py", "numpy");
    dir_ = fs::temp_directory_path() / ("mechlens-atman-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path run(const fs::path& recipe) {
    const fs::path archive = dir_ / "out.h5";
    const auto r = run_command(mechlens::testing::mechlens_binary() + " run " + shell_quote(recipe.string()) +
                               " --out " + shell_quote(archive.string()));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return archive;
  }
  fs::path dir_;
};

TEST_F(AtManRun, ToyInductionRecipeSinglesOutTheCopiedFromToken) {
  const json a = dump_group(run(kToys / "induction_atman.toml"), "runs/run_0001/analyses/atman");
  const auto shape = a["relevance"]["shape"].get<std::vector<int>>();
  ASSERT_EQ(shape, (std::vector<int>{3, 20}));  // 19 prompt tokens + the teacher-forced answer
  EXPECT_EQ(a["relevance"]["dims"], json({"input", "pos"}));
  for (int i = 0; i < 3; ++i) {
    // The answer's first occurrence (position 9): the most negative score
    // (suppressing it raises the answer's cross-entropy the most).
    int best = -1;
    double lowest = 0;
    for (int t = 0; t < 20; ++t) {
      const json& v = a["relevance"]["values"][i * 20 + t];
      if (t == 19) {
        EXPECT_TRUE(v.is_null()) << "the target's last token is not explained";
        continue;
      }
      ASSERT_FALSE(v.is_null()) << i << " " << t;
      if (v.get<double>() < lowest) lowest = v.get<double>(), best = t;
    }
    EXPECT_EQ(best, 9) << "input " << i;
    EXPECT_LT(lowest, -1.0) << "input " << i;
    EXPECT_EQ(a["target_source"]["values"][i], "expected");
    EXPECT_EQ(a["target_position"]["values"][i], 18);
    EXPECT_DOUBLE_EQ(a["forwards_no_reuse"]["values"][i].get<double>(), 20.0);  // clean + 19 rows
    EXPECT_LT(a["forwards_prefix_reuse"]["values"][i].get<double>(), 20.0);
    // prefix_reuse defaults to true: what was spent is the reused cost.
    EXPECT_DOUBLE_EQ(a["forwards"]["values"][i].get<double>(), a["forwards_prefix_reuse"]["values"][i].get<double>());
  }
  EXPECT_TRUE(fs::exists(dir_ / "out_figures" / "run_0001" / "atman" / "tokens_repeat_1.png"));
}

// Every stored score (each explained position x target token), relevance and
// clean cross-entropy of the induction recipe against the float64 AtMan
// reference (tests/models/reference/atman_reference.py) on the same
// checkpoint, ids and parameters. Scores reach 15.7 nats; float32 vs float64
// differs by 1e-5 (measured 9.9e-6), so 1e-4 leaves a 10x margin and still
// catches a wrong factor, row or position (>= 1e-3 on these inputs).
TEST_F(AtManRun, ToyInductionScoresEqualTheReference) {
  MECHLENS_REQUIRE_PYTHON("torch");
  const fs::path archive = run(kToys / "induction_atman.toml");
  const auto r = run_command("/usr/bin/python3 " + shell_quote(std::string(MECHLENS_SOURCE_DIR) +
                                                               "/tests/e2e/atman_archive_reference.py") +
                             " " + shell_quote(archive.string()) + " " + shell_quote((kToys / "models/induction").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json c = json::parse(r.output);
  EXPECT_EQ(c["inputs"], 3);
  EXPECT_EQ(c["explained"], 3 * 19);
  EXPECT_LT(c["score_max_abs_diff"].get<double>(), 1e-4);
  EXPECT_LT(c["relevance_max_abs_diff"].get<double>(), 1e-4);
  EXPECT_LT(c["clean_max_abs_diff"].get<double>(), 1e-6);
  EXPECT_GT(c["score_max_abs"].get<double>(), 1.0);  // not vacuous
}

TEST_F(AtManRun, ToyShapesRecipeStoresGridsPerCropAndDrawsThem) {
  const fs::path archive = run(kToys / "shapes_vlm_atman.toml");
  const json a = dump_group(archive, "runs/run_0001/analyses/atman");
  EXPECT_EQ(a["target_source"]["values"], json({"expected", "model"}));
  EXPECT_EQ(a["target_token"]["values"][1], "Ġred");  // shape_001 is red: the model's own answer
  // shape_001's red circle sits on rows 2-4, cols 2-4 (annotations.json): those
  // cells outweigh the rest of the base grid.
  const json grid = dump_group(archive, "runs/run_0001/analyses/atman/grids/shape_001/crop_0");
  ASSERT_EQ(grid["relevance"]["shape"], json({6, 6}));
  double on = 0, off = 0;
  int n_on = 0, n_off = 0;
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 6; ++c) {
      const double v = grid["relevance"]["values"][r * 6 + c].get<double>();
      const bool object = r >= 2 && r <= 4 && c >= 2 && c <= 4;
      (object ? on : off) += v;
      (object ? n_on : n_off) += 1;
    }
  EXPECT_GT(on / n_on, 10.0 * (off / n_off));
  // Text tokens are not explained with explain = "image".
  const json tile = dump_group(archive, "runs/run_0001/analyses/atman/grids/green_circle_right/crop_1");
  EXPECT_EQ(tile["relevance"]["shape"], json({6, 6}));
  for (const char* f : {"image_shape_001_crop0.png", "image_shape_001_crop1.png", "tokens_shape_001.png"})
    EXPECT_TRUE(fs::exists(dir_ / "out_figures" / "run_0001" / "atman" / f)) << f;
}

TEST_F(AtManRun, BertExplainsTheMaskedToken) {
  mechlens::tiny::TinyBertOptions options;
  options.layers = 2;
  mechlens::tiny::write_tiny_bert((dir_ / "tiny-bert").string(), options);
  std::ofstream(dir_ / "recipe.toml") << R"([experiment]
name = "atman-bert"

[model]
adapter = "bert"
path = "tiny-bert"

[[inputs]]
id = "first"
text = "the cat sat on the [MASK] ."
expected = "mat"

[[inputs]]
id = "second"
text = "a dog runs to the [MASK] house"

[[analysis]]
plugin = "atman"
aggregate = "squared_sum"
max_batch = 3
)";
  const json a = dump_group(run(dir_ / "recipe.toml"), "runs/run_0001/analyses/atman");
  EXPECT_EQ(a["target_source"]["values"], json({"expected", "model"}));
  const auto T = a["relevance"]["shape"][1].get<int>();
  int explained = 0, positive = 0;
  for (int t = 0; t < T; ++t) {
    const json& v = a["relevance"]["values"][t];  // input 0: every position explained (no causal mask)
    if (v.is_null()) continue;
    ++explained;
    positive += v.get<double>() > 0;
  }
  int flagged = 0;
  for (int t = 0; t < T; ++t) flagged += a["explained"]["values"][t].get<int>();
  EXPECT_EQ(flagged, explained);
  EXPECT_GE(explained, 8);  // [CLS] the cat sat on the [MASK] . [SEP]
  EXPECT_GT(positive, 0);
  EXPECT_EQ(a["@attrs"]["aggregate"], "squared_sum");
}

}  // namespace
