// Byte-mutation fuzzing of the recipe loader (issue 9): every mutation of a
// valid recipe loads or fails with mechlens::Error, never anything else.
#include <gtest/gtest.h>

#include "byte_mutation.hpp"
#include "recipe/recipe.hpp"
#include "recipe_test_support.hpp"

namespace {

using namespace recipe_test;

TEST(RecipeFuzz, MutatedRecipesLoadOrFailWithAnError) {
  TempDir dir;
  dir.write("models/tiny-bert/config.json", "{}");
  const std::string valid = recipe_text("dtype = \"float32\"\nthreads = 2\n",
                                        "expected = \"paris\"\ntags = [\"geo\"]\nanswer_position = -2\n",
                                        "name = \"sens\"\nmetric = \"kl\"\nlayers = [0, 1]\n");
  const std::string file = (dir.path() / "fuzz.toml").string();
  int loaded = 0, refused = 0;
  for (unsigned seed = 1; seed <= 4; ++seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < 250; ++i) {
      const std::string text = mechlens::testing::mutate(valid, rng, 1 + static_cast<int>(rng() % 4));
      dir.write("fuzz.toml", text);
      try {
        mechlens::recipe::load(file);
        ++loaded;
      } catch (const mechlens::Error&) {
        ++refused;
      } catch (const std::exception& e) {
        ADD_FAILURE() << "seed " << seed << " iteration " << i << ": " << typeid(e).name() << ": " << e.what();
      }
    }
  }
  // Both outcomes occur: the mutations reach past the parser into the checks.
  EXPECT_GT(loaded, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
