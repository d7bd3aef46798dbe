// The archives of the toy recipes (experiments/toy/*.toml), as a researcher
// opens them: every analysis group (and the run's other groups, and the first
// sub-groups of each) in xarray, in one line, with named dims and coordinates
// equal to h5py's reads (tests/support/check_xarray_groups.py). Generic over
// recipes and plugins: a plugin that a toy recipe runs is checked without a
// line here (a new recipe file is picked up when e2e_test is rebuilt). The
// same run checks that every dataset stored is listed in tests/VALUE_CHECKS.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <unistd.h>

#include "recipe/recipe.hpp"
#include "subprocess.hpp"
#include "tiny_bert.hpp"
#include "xarray_check.hpp"

namespace fs = std::filesystem;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;

namespace {

std::vector<std::string> toy_recipes() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy"))
    if (e.path().extension() == ".toml") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

// One test per recipe (ctest runs them apart; a failure names the recipe).
class ToyArchiveInXarray : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mechlens-xarray-" + GetParam() + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "models");
    // tiny_bert_sensitivity.toml reads ${MECHLENS_MODELS}/tiny-bert.
    mechlens::tiny::write_tiny_bert((dir_ / "models" / "tiny-bert").string(), {});
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_P(ToyArchiveInXarray, EveryGroupOpensWithNamedDimsAndCoordinates) {
  MECHLENS_REQUIRE_XARRAY();
  const fs::path recipe = fs::path(MECHLENS_SOURCE_DIR) / "experiments" / "toy" / (GetParam() + ".toml");
  const fs::path archive = dir_ / (GetParam() + ".h5");
  const std::string models = (dir_ / "models").string();
  const auto run = run_command("MECHLENS_MODELS=" + shell_quote(models) + " " + mechlens::testing::mechlens_binary() +
                               " run " + shell_quote(recipe.string()) + " --out " + shell_quote(archive.string()));
  ASSERT_EQ(run.exit_code, 0) << run.output;

  const auto check = mechlens::testing::check_archive_in_xarray(archive.string());
  EXPECT_EQ(check.exit_code, 0) << check.output;
  // Every analysis of the recipe was among the groups checked.
  ::setenv("MECHLENS_MODELS", models.c_str(), 1);
  for (const auto& analysis : mechlens::recipe::load(recipe.string()).analyses)
    EXPECT_NE(check.output.find("\"/runs/run_0001/analyses/" + analysis.name + "\""), std::string::npos)
        << analysis.name << "\n" << check.output;

  // Every dataset each analysis stored is listed in tests/VALUE_CHECKS.md with
  // the test that checks its values (tests/support/value_checks.py).
  const auto listed = run_command("/usr/bin/python3 " +
                                  shell_quote(std::string(MECHLENS_SOURCE_DIR) + "/tests/support/value_checks.py") +
                                  " archive " + shell_quote(archive.string()));
  EXPECT_EQ(listed.exit_code, 0) << listed.output;

  // A fresh archive follows the convention: inspect has no note about it.
  const auto inspect = run_command(mechlens::testing::mechlens_binary() + " inspect " + shell_quote(archive.string()));
  EXPECT_EQ(inspect.exit_code, 0) << inspect.output;
  EXPECT_EQ(inspect.output.find("predate"), std::string::npos) << inspect.output;
}

INSTANTIATE_TEST_SUITE_P(ToyRecipes, ToyArchiveInXarray, ::testing::ValuesIn(toy_recipes()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace
