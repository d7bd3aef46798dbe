// Errors that used to blame the wrong thing (issue 9): a directory given as
// the recipe, and bytes that are not UTF-8 in a prompt, in an environment
// variable or in a --set value are named by the recipe key they came from
// (rather than by the archive attribute they would have broken later).
#include <gtest/gtest.h>

#include "recipe/env_expand.hpp"
#include "recipe/recipe.hpp"
#include "recipe_test_support.hpp"

namespace {

using namespace recipe_test;
using mechlens::recipe::load;

TEST(RecipeTextErrors, DirectoryIsNotARecipe) {
  TempDir dir;
  const std::string folder = (dir.path() / "experiments").string();
  fs::create_directories(folder);
  const std::string msg = error_of([&] { load(folder); });
  expect_names(msg, {folder, "is a directory"});
  EXPECT_EQ(msg.find("[[analysis]]"), std::string::npos) << msg;
}

TEST(RecipeTextErrors, NonUtf8PromptNamesTheKey) {
  TempDir dir;
  // A Latin-1 "é" (0xE9) where UTF-8 was expected.
  const std::string text = recipe_text("", "\n[[inputs]]\nid = \"latin1\"\ntext = \"caf\xE9 [MASK] .\"\n");
  const std::string file = dir.write("recipe.toml", text);
  const std::string msg = error_of([&] { load(file); });
  // toml++ may refuse the byte itself (naming the line), or pass it through to
  // our check (naming the key); either way the recipe's line is named.
  expect_names(msg, {file + ":" + std::to_string(line_of(text, "caf"))});
  EXPECT_EQ(msg.find("attribute"), std::string::npos) << msg;
}

TEST(RecipeTextErrors, NonUtf8EnvironmentVariableNamesVariableAndKey) {
  TempDir dir;
  const std::string text = recipe_text("", "\n[[inputs]]\nid = \"env\"\ntext = \"${MECHLENS_TEST_PROMPT} [MASK]\"\n");
  const std::string file = dir.write("recipe.toml", text);
  ::setenv("MECHLENS_TEST_PROMPT", "caf\xE9", 1);
  const std::string msg = error_of([&] { load(file); });
  ::unsetenv("MECHLENS_TEST_PROMPT");
  expect_names(msg, {file + ":" + std::to_string(line_of(text, "MECHLENS_TEST_PROMPT")), "inputs[1].text",
                     "environment variable MECHLENS_TEST_PROMPT", "not valid UTF-8", "0xe9"});
}

TEST(RecipeTextErrors, NonUtf8OverrideNamesTheKey) {
  TempDir dir;
  const std::string file = dir.write("recipe.toml", recipe_text());
  const std::string msg = error_of([&] { load(file, {std::string("experiment.description=caf\xE9")}); });
  expect_names(msg, {"experiment.description", "not valid UTF-8"});
}

TEST(RecipeTextErrors, Utf8ChecksFollowRfc3629) {
  using mechlens::recipe::detail::expand;
  auto env = [](const std::string& v) {
    return [v](const std::string&) -> std::optional<std::string> { return v; };
  };
  EXPECT_EQ(expand("${X}", "f:1", "k", env("\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80")), "\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  for (const std::string bad : {"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82", "\x80"})
    expect_names(error_of([&] { expand("${X}", "f:1", "k", env(bad)); }), {"environment variable X", "not valid UTF-8"});
}

}  // namespace
