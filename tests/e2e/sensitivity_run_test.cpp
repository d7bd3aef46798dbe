// End to end: `mechlens run` of a sensitivity recipe on a tiny BERT, then the
// archive is opened with h5py alone and one matrix entry is recomputed here
// with a plain zeroing hook (not the framework's batched sweep).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "mechlens/hooks.hpp"
#include "models/registry.hpp"
#include "subprocess.hpp"
#include "tiny_bert.hpp"
#include "python_requirement.hpp"

namespace fs = std::filesystem;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;

namespace {

class SensitivityRun : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mechlens-e2e-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    mechlens::tiny::TinyBertOptions options;
    options.layers = 3;
    options.heads = 4;
    options.seed = 7;
    mechlens::tiny::write_tiny_bert((dir_ / "tiny-bert").string(), options);
    recipe_ = dir_ / "recipe.toml";
    std::ofstream(recipe_) << R"([experiment]
name = "e2e"

[model]
adapter = "bert"
path = "tiny-bert"

[[inputs]]
id = "first"
text = "the cat sat on the [MASK] ."

[[inputs]]
id = "second"
text = "a dog runs to the [MASK] house"

[[analysis]]
plugin = "sensitivity_matrix"
ablation = "zero"
)";
  }
  void TearDown() override { fs::remove_all(dir_); }

  nlohmann::json read_archive(const fs::path& archive) {
    const auto script = std::string(MECHLENS_SOURCE_DIR) + "/tests/e2e/read_sensitivity_archive.py";
    const auto r = run_command("/usr/bin/python3 " + shell_quote(script) + " " + shell_quote(archive.string()));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return nlohmann::json::parse(r.output);
  }

  fs::path dir_, recipe_;
};

// p(t*) at the [MASK] with head h of layer l zeroed, computed the plain way.
double relative_change(const mechlens::Model& model, const std::string& text, int layer, int head) {
  mechlens::InputSpec spec;
  spec.text = text;
  const mechlens::EncodedInput input = model.encode(spec);
  const mechlens::Batch batch = model.make_batch({&input});
  const at::Tensor pos = at::tensor({input.answer_position}, at::kLong);
  at::NoGradGuard no_grad;
  const at::Tensor clean = at::softmax(model.forward(batch, nullptr, pos)[0][0].to(at::kDouble), -1);
  const std::int64_t top = clean.argmax().item<std::int64_t>();
  mechlens::HookSet hooks;
  hooks.add_write("blocks." + std::to_string(layer) + ".attn.hook_z",
                  [head](const std::string&, const at::Tensor& z) {
                    at::Tensor out = z.clone();
                    out.select(2, head).zero_();
                    return out;
                  });
  const at::Tensor ablated = at::softmax(model.forward(batch, &hooks, pos)[0][0].to(at::kDouble), -1);
  return (ablated[top].item<double>() - clean[top].item<double>()) / clean[top].item<double>();
}

TEST_F(SensitivityRun, ArchiveHoldsTheMatrixAndItsProvenance) {
  MECHLENS_REQUIRE_PYTHON("h5py");
  const fs::path archive = dir_ / "out.h5";
  const auto r = run_command(mechlens::testing::mechlens_binary() + " run " + shell_quote(recipe_.string()) +
                             " --out " + shell_quote(archive.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("largest sensitivity"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(archive.string()), std::string::npos) << r.output;
  ASSERT_FALSE(fs::exists(archive.string() + ".partial"));

  const nlohmann::json json = read_archive(archive);
  ASSERT_EQ(json["runs"].size(), 1u);
  const auto& run = json["run_0001"];
  EXPECT_EQ(run["attrs"]["status"], "complete");
  const auto& matrix = run["top1_prob_change"];
  EXPECT_EQ(matrix["shape"], nlohmann::json::array({2, 3, 4}));
  EXPECT_EQ(matrix["dims"], nlohmann::json::array({"input", "layer", "head"}));
  // Every value of the three metrics, and the headline, against the float64
  // reference forward with each head zeroed in its weights
  // (tests/toys/reference_sensitivity.py; tolerances explained in
  // tests/toys/toy_recipes_test.cpp).
  MECHLENS_REQUIRE_PYTHON("torch");
  const auto ref_run = run_command("/usr/bin/python3 " + shell_quote(std::string(MECHLENS_SOURCE_DIR) +
                                                                     "/tests/toys/reference_sensitivity.py") +
                                   " " + shell_quote(archive.string()) + " " + shell_quote((dir_ / "tiny-bert").string()) +
                                   " 2>/dev/null");
  ASSERT_EQ(ref_run.exit_code, 0) << ref_run.output;
  const nlohmann::json ref = nlohmann::json::parse(ref_run.output);
  EXPECT_EQ(ref["stored_top_token"], ref["reference_top_token"]);
  for (const auto& [metric, tol] : std::map<std::string, double>{{"top1_prob_change", 1e-4}, {"kl", 1e-4}, {"logit_diff", 5e-4}}) {
    const auto& stored = run[metric]["values"];
    const auto& want = ref["metrics"][metric]["reference"];
    double largest = 0;
    for (int i = 0; i < 2; ++i)
      for (int l = 0; l < 3; ++l)
        for (int h = 0; h < 4; ++h) {
          EXPECT_NEAR(stored[i][l][h].get<double>(), want[i][l][h].get<double>(), tol)
              << metric << " input " << i << " layer " << l << " head " << h;
          largest = std::max(largest, std::abs(want[i][l][h].get<double>()));
        }
    EXPECT_GT(largest, 1e-3) << metric << ": all ~0, the comparison would be vacuous";
  }
  // largest_layer / largest_head: the argmax of mean |top1_prob_change| over the reference.
  double best = -1;
  int best_layer = -1, best_head = -1;
  for (int l = 0; l < 3; ++l)
    for (int h = 0; h < 4; ++h) {
      double mean = 0;
      for (int i = 0; i < 2; ++i) mean += std::abs(ref["metrics"]["top1_prob_change"]["reference"][i][l][h].get<double>()) / 2;
      if (mean > best) best = mean, best_layer = l, best_head = h;
    }
  EXPECT_EQ(ref["attrs"]["largest_layer"].get<int>(), best_layer);
  EXPECT_EQ(ref["attrs"]["largest_head"].get<int>(), best_head);

  // Recompute entries independently and compare.
  auto model = mechlens::models::load("bert", {(dir_ / "tiny-bert").string(), "float32", "cpu"});
  for (int layer : {0, 2})
    for (int head : {1, 3}) {
      const double expected = relative_change(*model, "a dog runs to the [MASK] house", layer, head);
      EXPECT_NEAR(matrix["values"][1][layer][head].get<double>(), expected, 1e-5)
          << "layer " << layer << " head " << head;
    }
}

TEST_F(SensitivityRun, SecondRunIsAppendedAndFirstKept) {
  MECHLENS_REQUIRE_PYTHON("h5py");
  const fs::path archive = dir_ / "out.h5";
  const std::string run = mechlens::testing::mechlens_binary() + " run " + shell_quote(recipe_.string()) +
                          " --out " + shell_quote(archive.string());
  ASSERT_EQ(run_command(run).exit_code, 0);
  const auto first = read_archive(archive)["run_0001"]["top1_prob_change"]["values"];
  const auto r = run_command(run + " --set analysis.0.ablation=identity");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json json = read_archive(archive);
  ASSERT_EQ(json["runs"].size(), 2u);
  EXPECT_EQ(json["run_0001"]["top1_prob_change"]["values"], first);
  EXPECT_NE(json["run_0002"]["top1_prob_change"]["values"], first);  // identity ≠ zero ablation
}

TEST_F(SensitivityRun, BadRecipeFailsWithoutTouchingTheArchive) {
  const fs::path archive = dir_ / "out.h5";
  const std::string base = mechlens::testing::mechlens_binary() + " run " + shell_quote(recipe_.string()) +
                           " --out " + shell_quote(archive.string());
  ASSERT_EQ(run_command(base).exit_code, 0);
  const auto size = fs::file_size(archive);
  const auto r = run_command(base + " --set analysis.0.ablation=halve");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("ablation"), std::string::npos) << r.output;
  EXPECT_EQ(fs::file_size(archive), size);
  EXPECT_FALSE(fs::exists(archive.string() + ".partial"));
}

}  // namespace
