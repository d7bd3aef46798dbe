// Every recipe shipped under experiments/ must load and validate: the toy
// recipes completely (they run here), the seed reproductions up to the
// plugins that other issues still have to bring.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "models/registry.hpp"
#include "recipe/recipe.hpp"
#include "subprocess.hpp"

namespace fs = std::filesystem;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;

namespace {

std::vector<fs::path> recipes_in(const std::string& folder) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(std::string(MECHLENS_SOURCE_DIR) + "/experiments/" + folder))
    if (e.path().extension() == ".toml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ExperimentRecipes, ToyRecipesValidateWithTheBuiltPlugins) {
  const auto recipes = recipes_in("toy");
  ASSERT_FALSE(recipes.empty());
  for (const auto& r : recipes) {
    const auto result = run_command("MECHLENS_MODELS=/nonexistent " + mechlens::testing::mechlens_binary() +
                                    " validate " + shell_quote(r.string()));
    EXPECT_EQ(result.exit_code, 0) << r << "\n" << result.output;
  }
}

TEST(ExperimentRecipes, SeedRecipesNameKnownAdaptersAndLoad) {
  ::setenv("MECHLENS_MODELS", "/models", 1);
  const auto adapters = mechlens::models::adapter_names();
  for (const char* seed : {"seed-001", "seed-003"}) {
    const auto recipes = recipes_in(seed);
    ASSERT_FALSE(recipes.empty()) << seed;
    for (const auto& r : recipes) {
      const mechlens::recipe::Recipe recipe = mechlens::recipe::load(r.string());
      EXPECT_NE(std::find(adapters.begin(), adapters.end(), recipe.model.adapter), adapters.end())
          << r << ": adapter " << recipe.model.adapter;
      EXPECT_FALSE(recipe.inputs.empty()) << r;
      for (const auto& input : recipe.inputs)
        if (input.image) { EXPECT_TRUE(fs::exists(*input.image)) << r << ": " << *input.image; }
    }
  }
}

}  // namespace
