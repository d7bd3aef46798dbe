// `mechlens run --shard I/N` + `mechlens merge` on the toy recipes: the merge
// of every shipped plugin's sharded output equals the unsharded run dataset
// by dataset (tests/merge/compare_runs.py, h5py: dims, scales, Fletcher32,
// values, attributes), and merges that must not happen are refused with the
// shard named: a missing shard, a duplicated one, another recipe, another
// checkpoint, a run that is not a shard, a shard that has not finished.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <algorithm>
#include <fstream>
#include <optional>

#include "host/merge.hpp"
#include "host/run.hpp"
#include "mechlens/error.hpp"
#include "python_requirement.hpp"
#include "recipe/recipe.hpp"
#include "subprocess.hpp"

namespace {

namespace fs = std::filesystem;
using namespace mechlens;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;

const std::string kToys = std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy/";

struct Quiet : Logger, Progress {
  std::vector<std::string> lines;
  void info(const std::string& m) override { lines.push_back(m); }
  void warn(const std::string& m) override { lines.push_back(m); }
  void update(const std::string&, std::int64_t, std::int64_t) override {}
};

struct Scratch {
  Scratch() {
    path = fs::temp_directory_path() / ("mechlens_merge_" + std::to_string(::getpid()) + "_" + std::to_string(++count));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Scratch() { fs::remove_all(path); }
  fs::path path;
  static inline int count = 0;
};

host::RunResult run(const std::string& recipe_path, const fs::path& out, std::optional<host::Shard> shard = {},
                    const std::vector<std::string>& sets = {}, bool resume = false, Quiet* quiet = nullptr) {
  Quiet local;
  host::RunOptions options;
  options.out = out.string();
  options.shard = shard;
  options.resume = resume;
  options.logger = quiet ? quiet : &local;
  options.progress = quiet ? quiet : &local;
  return host::run_recipe(recipe::load(recipe_path, sets), options);
}

std::vector<std::string> run_shards(const std::string& recipe_path, const fs::path& out, int n,
                                    const std::vector<std::string>& sets = {}) {
  std::vector<std::string> files;
  for (int i = 0; i < n; ++i) files.push_back(run(recipe_path, out, host::Shard{i, n}, sets).archive);
  return files;
}

host::MergeResult merge(const fs::path& out, const std::vector<std::string>& shards) {
  host::MergeOptions options;
  options.out = out.string();
  options.shards = shards;
  options.command_line = "merge_test";
  return host::merge_shards(options);
}

std::string merge_error(const fs::path& out, const std::vector<std::string>& shards) {
  try {
    merge(out, shards);
  } catch (const std::exception& e) {
    EXPECT_FALSE(fs::exists(out)) << "a refused merge wrote " << out;
    EXPECT_FALSE(fs::exists(out.string() + ".partial")) << "a refused merge left " << out << ".partial";
    return e.what();
  }
  return "(merged without an error)";
}

mechlens::testing::CommandResult compare(const fs::path& a, const fs::path& b) {
  return run_command("/usr/bin/python3 " + shell_quote(std::string(MECHLENS_SOURCE_DIR) + "/tests/merge/compare_runs.py") +
                     " " + shell_quote(a.string()) + " " + shell_quote(b.string()) + " --attrs --shard-findings=atman");
}

// ---------------------------------------------------------------------------
// Every shipped plugin: merged shards == the unsharded run.

struct Case {
  const char* recipe;
  int shards;
  const char* plugins;  // what the recipe covers, for the test's name
  int images = 0;       // > 0: the recipe's image folder cut to its first `images` images (a faster run)
  std::vector<std::string> sets = {};  // --set overrides
};

// The first `n` images of the shapes folder in a folder of their own.
std::string few_images(const fs::path& dir, int n) {
  const fs::path folder = dir / "images";
  fs::create_directories(folder);
  for (int i = 0; i < n; ++i) {
    const std::string name = "shape_00" + std::to_string(i) + ".png";
    fs::copy_file(kToys + "data/shapes/" + name, folder / name);
  }
  return folder.string();
}

class MergeEqualsUnsharded : public ::testing::TestWithParam<Case> {};

TEST_P(MergeEqualsUnsharded, DatasetByDataset) {
  MECHLENS_REQUIRE_PYTHON("h5py", "numpy");
  const Case c = GetParam();
  Scratch dir;
  const std::string path = kToys + c.recipe;
  std::vector<std::string> sets = c.sets;
  if (c.images > 0) sets.push_back("inputs.0.image_dir=" + few_images(dir.path, c.images));
  const std::string full = run(path, dir.path / "full.h5", std::nullopt, sets).archive;
  std::vector<std::string> shards = run_shards(path, dir.path / "sweep.h5", c.shards, sets);
  std::reverse(shards.begin(), shards.end());  // any order: merge sorts them by their index
  const host::MergeResult merged = merge(dir.path / "merged.h5", shards);
  EXPECT_EQ(merged.shards, c.shards);
  const auto r = compare(full, merged.archive);
  EXPECT_EQ(r.exit_code, 0) << c.recipe << " (" << c.plugins << "):\n" << r.output;
  EXPECT_NE(r.output.find("0 differences"), std::string::npos) << r.output;
}

INSTANTIATE_TEST_SUITE_P(
    ToyRecipes, MergeEqualsUnsharded,
    ::testing::Values(Case{"induction_sensitivity.toml", 3, "sensitivity_matrix, activation_cache"},
                      Case{"induction_head_attribution.toml", 2, "head_attribution, sensitivity_matrix"},
                      Case{"induction_sensitivity.toml", 2, "sensitivity_matrix by attribution, verified", 0,
                           {"analysis.0.method=attribution", "analysis.0.verify_top=3"}},
                      Case{"induction_logit_lens.toml", 3, "logit_lens"},
                      Case{"induction_atman.toml", 2, "atman"},
                      Case{"shapes_vlm_atman.toml", 2, "atman on images"},
                      Case{"shapes_vlm_seed003.toml", 2, "head_modality_split, logit_lens on images", 5},
                      Case{"shapes_vlm_seed004.toml", 3, "visual_token_ablation, knockout_windows"},
                      Case{"grammar_bert_sensitivity.toml", 2, "sensitivity_matrix, activation_cache on BERT"}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string name = fs::path(info.param.recipe).stem().string() + (info.param.sets.empty() ? "" : "_with_sets");
      for (char& ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return name;
    });

TEST(Shard, AJointEmbeddingOfAllInputsIsRefusedBeforeTheModelLoads) {
  Scratch dir;
  try {
    run(kToys + "grammar_bert_attentionviz.toml", dir.path / "x.h5", host::Shard{0, 1});
    FAIL() << "attentionviz ran as a shard";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("attentionviz"), std::string::npos) << m;
    EXPECT_NE(m.find("cannot be split by inputs"), std::string::npos) << m;
  }
  EXPECT_TRUE(fs::is_empty(dir.path));
}

TEST(Shard, ProvenanceSaysWhichShardAndWhichInputs) {
  MECHLENS_REQUIRE_PYTHON("h5py");
  Scratch dir;
  const std::string archive = run(kToys + "induction_sensitivity.toml", dir.path / "s.h5", host::Shard{1, 3}).archive;
  EXPECT_EQ(fs::path(archive).filename(), "s.shard-1-of-3.h5");
  const auto r = run_command(
      "/usr/bin/python3 -c " +
      shell_quote("import h5py,sys\nf=h5py.File(sys.argv[1])\nr=f['runs/run_0001']\np=r['provenance'].attrs\n"
                  "print(p['shard'], p['shard_index'], p['shard_count'], list(p['shard_input_range']), "
                  "len(p['recipe_inputs']), list(r['inputs/input'].asstr()[()]), "
                  "'output = \"' + sys.argv[2] + '\"' in p['resolved_recipe'])") +
      " " + shell_quote(archive) + " " + shell_quote((dir.path / "s.h5").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // 4 inputs in 3 shards: 2, 1, 1; the resolved recipe names the merged archive.
  EXPECT_EQ(r.output, "1/3 1 3 [2, 3] 4 ['repeat_3'] True\n");
}

TEST(Shard, ResumeStartsAFreshShardAndSkipsAFinishedOne) {
  Scratch dir;
  const std::string path = kToys + "induction_sensitivity.toml";
  Quiet first;
  const std::string archive = run(path, dir.path / "s.h5", host::Shard{0, 2}, {}, /*resume=*/true, &first).archive;
  ASSERT_TRUE(fs::exists(archive));
  const auto size = fs::file_size(archive);
  Quiet again;
  const host::RunResult second = run(path, dir.path / "s.h5", host::Shard{0, 2}, {}, /*resume=*/true, &again);
  EXPECT_EQ(second.archive, archive);
  EXPECT_EQ(second.run_name, "run_0001");
  EXPECT_EQ(fs::file_size(archive), size);  // no second run appended
  bool said = false;
  for (const auto& line : again.lines) said |= line.find("already written") != std::string::npos;
  EXPECT_TRUE(said);
}

// ---------------------------------------------------------------------------
// Merges that must be refused.

class MergeRefuses : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new Scratch;
    shards_ = run_shards(kToys + "induction_sensitivity.toml", dir_->path / "sweep.h5", 2);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static fs::path out() { return dir_->path / ("merged_" + std::to_string(++n_) + ".h5"); }
  static fs::path other(const std::string& name) {
    const fs::path p = dir_->path / name;
    fs::create_directories(p);
    return p;
  }
  static inline Scratch* dir_ = nullptr;
  static inline std::vector<std::string> shards_;
  static inline int n_ = 0;
};

TEST_F(MergeRefuses, AMissingShardNamingItsIndexAndFile) {
  const std::string m = merge_error(out(), {shards_[0]});
  EXPECT_NE(m.find("missing"), std::string::npos) << m;
  EXPECT_NE(m.find("1/2"), std::string::npos) << m;
  EXPECT_NE(m.find("sweep.shard-1-of-2.h5"), std::string::npos) << m;
}

TEST_F(MergeRefuses, AShardGivenTwiceOrTwoFilesOfOneShard) {
  std::string m = merge_error(out(), {shards_[0], shards_[1], shards_[0]});
  EXPECT_NE(m.find(shards_[0]), std::string::npos) << m;
  EXPECT_NE(m.find("given twice"), std::string::npos) << m;
  const fs::path copy = other("copy") / "sweep.shard-1-of-2.h5";
  fs::copy_file(shards_[1], copy, fs::copy_options::overwrite_existing);
  m = merge_error(out(), {shards_[0], shards_[1], copy.string()});
  EXPECT_NE(m.find("is shard 1/2, and so is"), std::string::npos) << m;
  EXPECT_NE(m.find(copy.string()), std::string::npos) << m;
}

TEST_F(MergeRefuses, AShardOfAnotherRecipe) {
  // Shard 1 again, for the same merged archive, with another ablation.
  const fs::path kept = other("kept") / "shard1.h5";
  fs::rename(shards_[1], kept);
  const std::string odd = run(kToys + "induction_sensitivity.toml", dir_->path / "sweep.h5", host::Shard{1, 2},
                              {"analysis.0.ablation=identity"})
                              .archive;
  const std::string m = merge_error(out(), {shards_[0], odd});
  fs::rename(kept, shards_[1]);
  EXPECT_NE(m.find("shard 1/2 (" + odd + ")"), std::string::npos) << m;
  EXPECT_NE(m.find("resolved recipe differs"), std::string::npos) << m;
  EXPECT_NE(m.find("ablation = \"identity\""), std::string::npos) << m;
}

TEST_F(MergeRefuses, AShardOfAnotherCheckpoint) {
  // The same weights under another config.json text: another checkpoint identity.
  const fs::path model = other("model_copy");
  fs::copy(kToys + "models/induction", model, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  std::ofstream(model / "config.json", std::ios::app) << "\n";
  const std::string odd = run(kToys + "induction_sensitivity.toml", other("other_model") / "sweep.h5",
                              host::Shard{1, 2}, {"model.path=" + model.string()})
                              .archive;
  const std::string m = merge_error(out(), {shards_[0], odd});
  EXPECT_NE(m.find(odd), std::string::npos) << m;
  EXPECT_NE(m.find("checkpoint differs (config_sha256"), std::string::npos) << m;
}

TEST_F(MergeRefuses, ARunThatIsNotAShardAndAShardThatHasNotFinished) {
  const std::string plain = run(kToys + "induction_sensitivity.toml", other("plain") / "plain.h5").archive;
  std::string m = merge_error(out(), {shards_[0], plain});
  EXPECT_NE(m.find(plain), std::string::npos) << m;
  EXPECT_NE(m.find("not a shard's run"), std::string::npos) << m;
  const fs::path unfinished = other("unfinished") / "sweep.shard-1-of-2.h5";
  fs::copy_file(shards_[1], unfinished.string() + ".partial", fs::copy_options::overwrite_existing);
  m = merge_error(out(), {shards_[0], unfinished.string()});
  EXPECT_NE(m.find("has not finished"), std::string::npos) << m;
  EXPECT_NE(m.find("--resume"), std::string::npos) << m;
}

TEST_F(MergeRefuses, WritingTheMergeOverAShard) {
  const std::string m = merge_error(dir_->path / "elsewhere_never.h5", {shards_[0], shards_[0]});
  EXPECT_NE(m.find("given twice"), std::string::npos) << m;
  try {
    merge(shards_[0], shards_);
    FAIL() << "merged into a shard";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("both a shard and the merged archive"), std::string::npos) << e.what();
  }
}

}  // namespace
