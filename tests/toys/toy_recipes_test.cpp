// Ground truth through the shipped path. Each shipped toy recipe
// (experiments/toy/*.toml) is run with `mechlens run` exactly as a user runs
// it, and the archive must report the mechanism that the toy's trainer
// recorded (experiments/toy/models/<toy>/mechanisms.json). Where a float64
// reference of the model exists (tests/models/reference), every stored
// sensitivity value is recomputed by it from the checkpoint and the token ids
// the archive recorded, and the headline finding (largest_layer/largest_head)
// must be the argmax of mean |top1_prob_change| over that reference matrix.
//
// A plugin that ships a toy recipe adds a row to kToyRecipes with what its
// archive must show.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "python_requirement.hpp"
#include "subprocess.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;

const fs::path kToys = fs::path(MECHLENS_SOURCE_DIR) / "experiments" / "toy";

// What a check sees: the sensitivity matrix as stored (and as recomputed by
// the reference where there is one) and the toy's mechanisms.json.
struct ToyRun {
  fs::path archive;
  json sensitivity;  // tests/toys/reference_sensitivity.py's output (recipes with a sensitivity_matrix)
  json mechanisms;
  // A dataset or attribute ("analyses/lens@mean_first_top1_entry") of the run, read with h5py.
  json read(const std::string& path) const {
    const std::string script = std::string(MECHLENS_SOURCE_DIR) + "/tests/toys/read_datasets.py";
    const auto r = run_command("/usr/bin/python3 " + shell_quote(script) + " " + shell_quote(archive.string()) + " " +
                               shell_quote(path));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return json::parse(r.output, nullptr, false)[path];
  }
};

struct LayerHead {
  int layer = -1, head = -1;
  bool operator==(const LayerHead& o) const { return layer == o.layer && head == o.head; }
};
std::ostream& operator<<(std::ostream& os, const LayerHead& x) {
  return os << "layer " << x.layer << " head " << x.head;
}
LayerHead label(const json& j) { return {j.at("layer").get<int>(), j.at("head").get<int>()}; }
LayerHead headline(const ToyRun& run) {
  return {run.sensitivity["attrs"]["largest_layer"].get<int>(), run.sensitivity["attrs"]["largest_head"].get<int>()};
}

// Mean |value| over inputs of one metric, [layer][head].
std::vector<std::vector<double>> mean_abs(const json& matrix) {
  std::vector<std::vector<double>> mean;
  for (const auto& input : matrix) {
    mean.resize(input.size());
    for (std::size_t l = 0; l < input.size(); ++l) {
      mean[l].resize(input[l].size(), 0.0);
      for (std::size_t h = 0; h < input[l].size(); ++h)
        mean[l][h] += std::abs(input[l][h].get<double>()) / static_cast<double>(matrix.size());
    }
  }
  return mean;
}

// Heads by mean |value|, largest first.
std::vector<LayerHead> ranking(const json& matrix) {
  const auto mean = mean_abs(matrix);
  std::vector<LayerHead> heads;
  for (int l = 0; l < static_cast<int>(mean.size()); ++l)
    for (int h = 0; h < static_cast<int>(mean[l].size()); ++h) heads.push_back({l, h});
  std::stable_sort(heads.begin(), heads.end(), [&](const LayerHead& a, const LayerHead& b) {
    return mean[a.layer][a.head] > mean[b.layer][b.head];
  });
  return heads;
}
double mean_of(const json& matrix, const LayerHead& x) { return mean_abs(matrix)[x.layer][x.head]; }

// The activation_cache analyses of a run against the float64 reference forward
// on the toy's checkpoint (tests/e2e/reference_activations.py): every stored
// pattern, query and key entry within 1e-4 (float32 vs float64 on entries of a
// few units). `hooks` must all have been checked at least once.
void expect_cache_matches_reference(const ToyRun& run, const std::string& toy, const std::string& analyses,
                                    const std::set<std::string>& hooks) {
  const auto r = run_command("/usr/bin/python3 " MECHLENS_SOURCE_DIR "/tests/e2e/reference_activations.py " +
                             shell_quote(run.archive.string()) + " " + shell_quote((kToys / "models" / toy).string()) +
                             " " + analyses + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json checked = json::parse(r.output);
  if (analyses.find(',') == std::string::npos) checked = json{{analyses, checked}};
  std::set<std::string> seen;
  for (const auto& [analysis, inputs] : checked.items())
    for (const auto& [input, entry] : inputs.items())
      for (const auto& [name, info] : entry["datasets"].items()) {
        if (!info.contains("max_abs_diff")) continue;
        EXPECT_LT(info["max_abs_diff"].get<double>(), 1e-4) << analysis << "/" << input << "/" << name;
        const auto dot = name.rfind('.');
        seen.insert(dot == std::string::npos ? name : name.substr(dot + 1));
      }
  for (const auto& hook : hooks) EXPECT_TRUE(seen.count(hook)) << hook << " was not compared with the reference";
}

struct ToyRecipe {
  std::string recipe;  // experiments/toy/<recipe>
  std::string toy;     // experiments/toy/models/<toy>
  enum Sensitivity { none, stored, with_reference } sensitivity;  // with_reference: BERT, Qwen2 have a float64 reference
  std::function<void(const ToyRun&)> mechanism;
};

// Recipes whose ground truth a dedicated test checks through `mechlens run`.
const std::map<std::string, std::string> kCheckedElsewhere = {
    {"grammar_bert_attentionviz.toml", "tests/toys/attentionviz_toy_test.cpp"},
    {"shapes_vlm_seed003.toml", "tests/toys/seed003_toy_test.cpp"},
    {"shapes_vlm_seed004.toml", "tests/toys/seed004_toy_test.cpp"},
    {"induction_atman.toml", "tests/e2e/atman_run_test.cpp"},
    {"shapes_vlm_atman.toml", "tests/e2e/atman_run_test.cpp"},
    {"induction_head_attribution.toml", "tests/toys/head_attribution_toy_test.cpp"},
};

const std::vector<ToyRecipe>& toy_recipes() {
  static const std::vector<ToyRecipe> table = {
      // The demo: zeroing the recorded induction head hurts most.
      {"induction_sensitivity.toml", "induction", ToyRecipe::with_reference,
       [](const ToyRun& run) {
         EXPECT_EQ(headline(run), label(run.mechanisms["induction_head"]));
         // Not a near tie: it leads the runner-up by a wide margin.
         const auto& top1 = run.sensitivity["metrics"]["top1_prob_change"]["stored"];
         const auto order = ranking(top1);
         EXPECT_GT(mean_of(top1, order[0]), 2 * mean_of(top1, order[1]));
         expect_cache_matches_reference(run, "induction", "patterns", {"hook_pattern"});
       }},
      // Two heads matter: the agreement head (leads on kl) and the head that
      // reads the adverb (next_token_head, leads on top1_prob_change here).
      {"grammar_bert_sensitivity.toml", "grammar_bert", ToyRecipe::with_reference,
       [](const ToyRun& run) {
         const LayerHead agreement = label(run.mechanisms["agreement_head"]);
         const LayerHead next_token = label(run.mechanisms["next_token_head"]);
         EXPECT_EQ(headline(run), next_token);
         EXPECT_EQ(ranking(run.sensitivity["metrics"]["kl"]["stored"])[0], agreement);
         const auto order = ranking(run.sensitivity["metrics"]["top1_prob_change"]["stored"]);
         EXPECT_EQ(order[1], agreement);
         expect_cache_matches_reference(run, "grammar_bert", "patterns_at_mask,queries_keys",
                                        {"hook_pattern", "hook_q", "hook_k", "logits"});
       }},
      // The colour head: the one whose zeroing costs most colour accuracy on
      // held-out images (and whose last-token attention sits most on the object).
      {"shapes_vlm_sensitivity.toml", "shapes_vlm", ToyRecipe::stored,
       [](const ToyRun& run) {
         const auto& heads = run.mechanisms["held_out"]["colour_heads"];
         LayerHead weakest;
         double lowest = 2.0;
         for (const auto& h : heads)
           if (h["accuracy_when_zeroed"].get<double>() < lowest)
             lowest = h["accuracy_when_zeroed"].get<double>(), weakest = label(h);
         EXPECT_EQ(headline(run), weakest);
         // Each input's image tokens carry the crop/row/col of the processor's
         // grid (derived in Python from config.json, tests/e2e/expected_image_annotations.py).
         const auto r = run_command("/usr/bin/python3 " MECHLENS_SOURCE_DIR "/tests/e2e/expected_image_annotations.py " +
                                    shell_quote(run.archive.string()) + " " + shell_quote((kToys / "models/shapes_vlm").string()));
         ASSERT_EQ(r.exit_code, 0) << r.output;
         const json annotations = json::parse(r.output);
         EXPECT_EQ(annotations.size(), 5u);
         for (const auto& [id, a] : annotations.items()) {
           EXPECT_EQ(a["stored"], a["expected"]) << id;
           EXPECT_EQ(a["stored"].size(), run.mechanisms["image_tokens"].get<std::size_t>()) << id;
         }
       }},
      // ablation_compare: the recorded induction head stays the most
      // important head under zero, identity, input-mean and dataset-mean
      // ablation, and every stored value and statistic agrees with the float64
      // plain-PyTorch reference (tests/models/reference/ablation_reference.py).
      {"induction_ablation_compare.toml", "induction", ToyRecipe::none,
       [](const ToyRun& run) {
         const LayerHead induction = label(run.mechanisms["induction_head"]);
         const auto r = run_command("/usr/bin/python3 " MECHLENS_SOURCE_DIR "/tests/toys/reference_ablation_compare.py " +
                                    shell_quote(run.archive.string()) + " " +
                                    shell_quote((kToys / "models/induction").string()) + " compare 2>&1");
         ASSERT_EQ(r.exit_code, 0) << r.output;
         const json c = json::parse(r.output);
         ASSERT_EQ(c["kinds"].size(), 4u);
         for (std::size_t k = 0; k < c["kinds"].size(); ++k)
           EXPECT_EQ((LayerHead{c["top_layer"][k].get<int>(), c["top_head"][k].get<int>()}), induction)
               << "most important head under " << c["kinds"][k];
         // Every value within 1e-4 of the float64 reference (float32 forward,
         // as sensitivity_matrix's check); the values are far from all-zero.
         double largest = 0.0;
         for (std::size_t k = 0; k < c["stored"].size(); ++k)
           for (std::size_t i = 0; i < c["stored"][k].size(); ++i)
             for (std::size_t l = 0; l < c["stored"][k][i].size(); ++l)
               for (std::size_t h = 0; h < c["stored"][k][i][l].size(); ++h) {
                 const double want = c["reference"][k][i][l][h].get<double>();
                 EXPECT_NEAR(c["stored"][k][i][l][h].get<double>(), want, 1e-4)
                     << c["kinds"][k] << " input " << i << " layer " << l << " head " << h;
                 largest = std::max(largest, std::abs(want));
               }
         EXPECT_GT(largest, 0.1);
         // The statistics: exactly the reference's formulas on the stored
         // matrices; near the reference's on its own matrices (float32 noise
         // may swap the order of near-zero heads).
         for (const char* stat : {"spearman", "kendall"})
           for (std::size_t i = 0; i < c[stat]["stored"].size(); ++i)
             for (std::size_t p = 0; p < c["pairs"].size(); ++p) {
               const double stored = c[stat]["stored"][i][p].get<double>();
               EXPECT_NEAR(stored, c[std::string(stat) + "_from_stored"][i][p].get<double>(), 1e-9)
                   << stat << " input " << i << " " << c["pairs"][p];
               EXPECT_NEAR(stored, c[stat]["reference"][i][p].get<double>(), 0.05)
                   << stat << " input " << i << " " << c["pairs"][p];
             }
         EXPECT_EQ(c["negligible_share_all_kinds"]["stored"], c["negligible_share_all_kinds"]["reference"]);
       }},
      // Logit lens: the answer cannot rank first before the induction head's
      // layer has written it, and does right after it, on every input.
      {"induction_logit_lens.toml", "induction", ToyRecipe::none,
       [](const ToyRun& run) {
         const int after_induction = label(run.mechanisms["induction_head"]).layer + 1;
         for (const char* lens : {"lens", "lens_raw"}) {
           const json rank = run.read(std::string("analyses/") + lens + "/target_rank");  // [input, entry, pos]
           ASSERT_TRUE(rank.is_array()) << lens;
           for (std::size_t i = 0; i < rank.size(); ++i)
             for (std::size_t e = 0; e < rank[i].size(); ++e)
               EXPECT_EQ(rank[i][e][0].get<int>() == 1, static_cast<int>(e) >= after_induction)
                   << lens << " input " << i << " layer entry " << e << " rank " << rank[i][e][0];
         }
       }},
  };
  return table;
}

class ToyRecipes : public ::testing::TestWithParam<ToyRecipe> {
 protected:
  // Runs the recipe once per test binary.
  static const ToyRun& run_of(const ToyRecipe& row) {
    static std::map<std::string, ToyRun> runs;
    auto it = runs.find(row.recipe);
    if (it != runs.end()) return it->second;
    const fs::path dir = fs::temp_directory_path() / ("mechlens-toy-recipes-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    ToyRun run;
    run.archive = dir / (row.recipe + ".h5");
    fs::remove(run.archive);
    const auto r = run_command("cd " + shell_quote(kToys.string()) + " && " + mechlens::testing::mechlens_binary() +
                               " run " + shell_quote(row.recipe) + " --out " + shell_quote(run.archive.string()));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::ifstream in(kToys / "models" / row.toy / "mechanisms.json");
    run.mechanisms = json::parse(in);
    if (row.sensitivity == ToyRecipe::none) return runs.emplace(row.recipe, std::move(run)).first->second;
    const std::string script = std::string(MECHLENS_SOURCE_DIR) + "/tests/toys/reference_sensitivity.py";
    const std::string checkpoint =
        row.sensitivity == ToyRecipe::with_reference ? (kToys / "models" / row.toy).string() : "-";
    const auto read = run_command("/usr/bin/python3 " + shell_quote(script) + " " + shell_quote(run.archive.string()) +
                                  " " + shell_quote(checkpoint) + " 2>/dev/null");
    EXPECT_EQ(read.exit_code, 0) << read.output;
    run.sensitivity = json::parse(read.output, nullptr, false);
    return runs.emplace(row.recipe, std::move(run)).first->second;
  }
};


// Every stored value of the three metrics, the clean top token per input, and
// the headline, against the float64 reference. Tolerances: the adapter runs in
// float32 (eps 6e-8); logits of magnitude ~15 through a 2-layer model differ
// from float64 by ~1e-5 (measured: top1_prob_change 4e-6, kl 1e-5, logit_diff
// 5e-5 on these toys), so 1e-4 on the probability ratios and 5e-4 on logit
// differences leave a 10x margin and still catch any real mistake (a wrong
// head, metric or position moves values by >= 1e-2).
void expect_reference_values(const ToyRun& run) {
  EXPECT_EQ(run.sensitivity["stored_top_token"], run.sensitivity["reference_top_token"]);
  // baseline_token_str: the top token as the checkpoint's vocabulary file
  // spells it; baseline_prob: its clean probability (float32 softmax vs
  // float64, measured 4e-9 on the induction toy; 1e-5 is far below any wrong
  // token or position).
  EXPECT_EQ(run.sensitivity["stored_top_token_str"], run.sensitivity["reference_top_token_str"]);
  const json& top_prob = run.sensitivity["stored_top_prob"];
  ASSERT_EQ(top_prob.size(), run.sensitivity["reference_top_prob"].size());
  for (std::size_t i = 0; i < top_prob.size(); ++i)
    EXPECT_NEAR(top_prob[i].get<double>(), run.sensitivity["reference_top_prob"][i].get<double>(), 1e-5)
        << "baseline_prob input " << i;
  const std::map<std::string, double> tolerance = {{"top1_prob_change", 1e-4}, {"kl", 1e-4}, {"logit_diff", 5e-4}};
  for (const auto& [metric, tol] : tolerance) {
    const json& stored = run.sensitivity["metrics"][metric]["stored"];
    const json& reference = run.sensitivity["metrics"][metric]["reference"];
    ASSERT_EQ(stored.size(), reference.size()) << metric;
    double largest = 0.0;
    for (std::size_t i = 0; i < stored.size(); ++i)
      for (std::size_t l = 0; l < stored[i].size(); ++l)
        for (std::size_t h = 0; h < stored[i][l].size(); ++h) {
          const double want = reference[i][l][h].get<double>();
          EXPECT_NEAR(stored[i][l][h].get<double>(), want, tol)
              << metric << " input " << i << " layer " << l << " head " << h;
          largest = std::max(largest, std::abs(want));
        }
    EXPECT_GT(largest, 0.1) << metric << ": the check would be vacuous on all-zero values";
  }
  // The headline is the argmax of the reference's mean |top1_prob_change|,
  // by a margin no rounding could flip.
  const json& reference = run.sensitivity["metrics"]["top1_prob_change"]["reference"];
  const auto order = ranking(reference);
  EXPECT_EQ(headline(run), order[0]);
  EXPECT_GT(mean_of(reference, order[0]) - mean_of(reference, order[1]), 1e-3);
}

// One run per recipe: the recorded mechanism, and (BERT, Qwen2) every stored
// sensitivity value against the float64 reference.
TEST_P(ToyRecipes, ArchiveReportsTheRecordedMechanism) {
  MECHLENS_REQUIRE_PYTHON("h5py", "torch");
  const ToyRun& run = run_of(GetParam());
  if (GetParam().sensitivity != ToyRecipe::none) { ASSERT_TRUE(run.sensitivity.is_object()); }
  GetParam().mechanism(run);
  if (GetParam().sensitivity == ToyRecipe::with_reference) expect_reference_values(run);
}

std::string row_name(const ::testing::TestParamInfo<ToyRecipe>& info) {
  return fs::path(info.param.recipe).stem().string();
}
INSTANTIATE_TEST_SUITE_P(Shipped, ToyRecipes, ::testing::ValuesIn(toy_recipes()), row_name);

// Every toy recipe that ships is in the table (a new one must say what it shows).
TEST(ToyRecipeTable, CoversEveryShippedToyRecipe) {
  std::set<std::string> listed;
  for (const auto& row : toy_recipes()) listed.insert(row.recipe);
  for (const auto& entry : fs::directory_iterator(kToys)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".toml") continue;
    // tiny_bert_sensitivity.toml runs a random tiny BERT written by tools/demo.sh:
    // no planted mechanism to check.
    if (name == "tiny_bert_sensitivity.toml" || listed.count(name)) continue;
    // Else a dedicated test must run it (kCheckedElsewhere names it where
    // known; any tests/**/*.cpp naming the recipe counts).
    std::vector<fs::path> tests;
    const auto elsewhere = kCheckedElsewhere.find(name);
    if (elsewhere != kCheckedElsewhere.end()) tests.push_back(fs::path(MECHLENS_SOURCE_DIR) / elsewhere->second);
    for (const auto& file : fs::recursive_directory_iterator(fs::path(MECHLENS_SOURCE_DIR) / "tests"))
      if (file.path().extension() == ".cpp" && file.path().filename() != "toy_recipes_test.cpp") tests.push_back(file.path());
    bool run_somewhere = false;
    for (const auto& path : tests) {
      std::ifstream test(path);
      const std::string text((std::istreambuf_iterator<char>(test)), {});
      run_somewhere = run_somewhere || text.find(name) != std::string::npos;
    }
    EXPECT_TRUE(run_somewhere) << name << " has no row in toy_recipes() and no test under tests/ runs it";
  }
}

// Every plugin ships a toy recipe whose ground truth a test checks: a row of
// toy_recipes() above, or an entry of kCheckedElsewhere naming the test that
// runs it. (tests/VALUE_CHECKS.md lists what each of its datasets is checked
// against; tests/e2e/toy_archives_xarray_test.cpp enforces that list.)
TEST(ToyRecipeTable, EveryPluginHasACheckedToyRecipe) {
  std::set<std::string> checked;
  for (const auto& row : toy_recipes()) checked.insert(row.recipe);
  for (const auto& [recipe, test] : kCheckedElsewhere) {
    checked.insert(recipe);
    EXPECT_TRUE(fs::exists(fs::path(MECHLENS_SOURCE_DIR) / test)) << recipe << ": " << test << " does not exist";
  }
  for (const auto& folder : fs::directory_iterator(fs::path(MECHLENS_SOURCE_DIR) / "plugins")) {
    if (!fs::exists(folder.path() / "CMakeLists.txt")) continue;
    const std::string plugin = folder.path().filename().string();
    std::vector<std::string> recipes;
    bool ok = false;
    for (const auto& entry : fs::directory_iterator(kToys)) {
      if (entry.path().extension() != ".toml") continue;
      std::ifstream in(entry.path());
      const std::string text((std::istreambuf_iterator<char>(in)), {});
      if (text.find("plugin = \"" + plugin + "\"") == std::string::npos) continue;
      const std::string name = entry.path().filename().string();
      recipes.push_back(name);
      ok = ok || checked.count(name);
    }
    EXPECT_TRUE(ok) << "plugin " << plugin << " has "
                    << (recipes.empty() ? std::string("no toy recipe in experiments/toy/ (plugin = \"" + plugin + "\")")
                                        : "toy recipes (" + recipes.front() + (recipes.size() > 1 ? ", ..." : "") +
                                              ") that no test checks")
                    << ". Add experiments/toy/<toy>_" << plugin
                    << ".toml on a toy with a planted mechanism, and either a row in toy_recipes() in "
                       "tests/toys/toy_recipes_test.cpp (what the archive must show) or an entry in kCheckedElsewhere "
                       "there naming the test that runs it and asserts the mechanism; then list every dataset the "
                       "plugin stores in tests/VALUE_CHECKS.md under `## "
                    << plugin << "`.";
  }
}

}  // namespace
