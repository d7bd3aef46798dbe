// Every seed reproduction under experiments/seed-*/ validates with the built
// plugins (`mechlens validate`: recipe keys, plugin names and parameters; no
// model loaded, so the real checkpoints need not be here).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "subprocess.hpp"

namespace fs = std::filesystem;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;

namespace {

TEST(SeedRecipes, EverySeedRecipeValidatesWithTheBuiltPlugins) {
  std::vector<fs::path> recipes;
  for (const auto& folder : fs::directory_iterator(std::string(MECHLENS_SOURCE_DIR) + "/experiments"))
    if (folder.is_directory() && folder.path().filename().string().rfind("seed-", 0) == 0)
      for (const auto& e : fs::directory_iterator(folder.path()))
        if (e.path().extension() == ".toml") recipes.push_back(e.path());
  std::sort(recipes.begin(), recipes.end());
  ASSERT_GE(recipes.size(), 2u);
  for (const auto& r : recipes) {
    const auto result = run_command("MECHLENS_MODELS=/nonexistent " + mechlens::testing::mechlens_binary() +
                                    " validate " + shell_quote(r.string()));
    EXPECT_EQ(result.exit_code, 0) << r << "\n" << result.output;
  }
}

}  // namespace
