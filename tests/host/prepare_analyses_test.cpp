// A recipe's analyses checked against their plugins before any model is
// loaded: bad parameters name the key and its line in the recipe.
#include <gtest/gtest.h>

#include "host/plugin_host.hpp"
#include "host/prepare.hpp"
#include "host_test_support.hpp"
#include "recipe/recipe.hpp"

namespace {

using mechlens::Error;
using namespace mechlens::testing;

// The 1-based line of the first line of `text` that starts with `prefix`.
int line_of(const std::string& text, const std::string& prefix) {
  std::istringstream lines(text);
  std::string l;
  for (int n = 1; std::getline(lines, l); ++n)
    if (l.rfind(prefix, 0) == 0) return n;
  return 0;
}

std::string prepare_error(const std::string& recipe_path) {
  const mechlens::host::PluginHost host({test_plugin_dir()});
  try {
    const auto recipe = mechlens::recipe::load(recipe_path);
    mechlens::host::prepare_analyses(recipe, host);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(PrepareAnalyses, GoodRecipeGetsDefaultsFilledIn) {
  ScratchDir dir;
  const auto recipe = mechlens::recipe::load(write_good_recipe(dir));
  const mechlens::host::PluginHost host({test_plugin_dir()});
  const auto prepared = mechlens::host::prepare_analyses(recipe, host);
  ASSERT_EQ(prepared.size(), 1u);
  EXPECT_EQ(prepared[0].plugin->name(), "good");
  EXPECT_EQ(prepared[0].params.get<std::string>("label"), "lbl");
  EXPECT_DOUBLE_EQ(prepared[0].params.get<double>("scale"), 0.5);
  EXPECT_EQ(prepared[0].params.get<std::int64_t>("steps"), 3);  // the plugin's default
  EXPECT_EQ(prepared[0].params.get<std::string>("mode"), "sum");
}

TEST(PrepareAnalyses, OutOfRangeParameterNamesKeyAndLine) {
  ScratchDir dir;
  const std::string path = write_good_recipe(dir, "steps = 20\n");
  const std::string message = prepare_error(path);
  const int line = line_of(read_file(path), "steps = 20");
  ASSERT_GT(line, 0);
  EXPECT_NE(message.find(path + ":" + std::to_string(line)), std::string::npos) << message;
  EXPECT_NE(message.find("steps"), std::string::npos) << message;
}

TEST(PrepareAnalyses, WrongTypeAndUnknownChoiceAndUnknownKeyAreErrors) {
  {
    ScratchDir dir;
    const std::string path = write_good_recipe(dir, "mode = \"median\"\n");
    const std::string message = prepare_error(path);
    EXPECT_NE(message.find(path + ":" + std::to_string(line_of(read_file(path), "mode ="))), std::string::npos)
        << message;
    EXPECT_NE(message.find("mode"), std::string::npos) << message;
  }
  {
    ScratchDir dir;
    const std::string path = write_good_recipe(dir, "fail = \"yes\"\n");
    const std::string message = prepare_error(path);
    EXPECT_NE(message.find(path + ":" + std::to_string(line_of(read_file(path), "fail ="))), std::string::npos)
        << message;
    EXPECT_NE(message.find("fail"), std::string::npos) << message;
  }
  {
    ScratchDir dir;
    const std::string path = write_good_recipe(dir, "stpes = 4\n");
    const std::string message = prepare_error(path);
    EXPECT_NE(message.find(path + ":" + std::to_string(line_of(read_file(path), "stpes ="))), std::string::npos)
        << message;
    EXPECT_NE(message.find("stpes"), std::string::npos) << message;
  }
}

TEST(PrepareAnalyses, MissingRequiredParameterIsNamed) {
  ScratchDir dir;
  std::string text = read_file(write_good_recipe(dir));
  text.replace(text.find("label = \"lbl\"\n"), 14, "");
  write_file(dir / "recipe.toml", text);
  const std::string message = prepare_error(dir / "recipe.toml");
  EXPECT_NE(message.find("label"), std::string::npos) << message;
  EXPECT_NE(message.find(dir / "recipe.toml"), std::string::npos) << message;
}

TEST(PrepareAnalyses, UnknownPluginNamesTheRecipeLineAndWhatExists) {
  ScratchDir dir;
  std::string text = read_file(write_good_recipe(dir));
  text.replace(text.find("plugin = \"good\""), 15, "plugin = \"goo\"");
  write_file(dir / "recipe.toml", text);
  const std::string message = prepare_error(dir / "recipe.toml");
  EXPECT_NE(message.find(dir / "recipe.toml"), std::string::npos) << message;
  EXPECT_NE(message.find("no plugin 'goo' (found: good;"), std::string::npos) << message;
}

TEST(PrepareAnalyses, UnknownAdapterIsAnErrorBeforeAnyModelLoads) {
  ScratchDir dir;
  std::string text = read_file(write_good_recipe(dir));
  text.replace(text.find("adapter = \"bert\""), 16, "adapter = \"brt\"");
  write_file(dir / "recipe.toml", text);
  const std::string message = prepare_error(dir / "recipe.toml");
  EXPECT_NE(message.find(dir / "recipe.toml"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown adapter 'brt'"), std::string::npos) << message;
  EXPECT_NE(message.find("bert"), std::string::npos) << message;  // the known ones are listed
}

}  // namespace
