// `--set key=value` overrides: applied before validation, errors say "--set".
#include <gtest/gtest.h>

#include "recipe/recipe.hpp"
#include "recipe_test_support.hpp"

namespace {

using namespace recipe_test;
using mechlens::recipe::load;
using mechlens::recipe::Recipe;

std::string two_analyses() {
  return recipe_text("", "\n[[inputs]]\nid = \"second\"\ntext = \"b\"\n",
                     "name = \"sens\"\nmetric = \"top1_prob_change\"\n"
                     "\n[[analysis]]\nplugin = \"activation_cache\"\n");
}

TEST(RecipeOverrides, ValuesAreApplied) {
  TempDir dir;
  const std::string file = dir.write("r.toml", two_analyses());
  const std::vector<std::string> sets = {"experiment.seed=3",
                                         "model.dtype=bfloat16",  // bare word: a string
                                         "model.device=\"cuda:0\"",
                                         "model.threads=4",
                                         "inputs.1.text=\"changed text\"",
                                         "inputs.second.expected=paris",
                                         "analysis.0.metric=kl",
                                         "analysis.activation_cache.positions=[-1, -2]",
                                         "experiment.description=a b c"};
  const Recipe r = load(file, sets);
  EXPECT_EQ(r.overrides, sets);
  EXPECT_EQ(r.experiment.seed, 3);
  EXPECT_EQ(r.model.dtype, "bfloat16");
  EXPECT_EQ(r.model.device, "cuda:0");
  EXPECT_EQ(r.model.threads, 4);
  EXPECT_EQ(r.inputs[1].text, "changed text");
  EXPECT_EQ(r.inputs[1].expected, "paris");
  EXPECT_EQ(r.inputs[0].text, "the capital of france is [MASK] .");
  EXPECT_EQ(std::get<std::string>(r.analyses[0].raw.at("metric")), "kl");
  EXPECT_EQ(r.analyses[0].raw_sources.at("metric").line, 0);  // from --set
  EXPECT_EQ(r.analyses[0].raw_sources.at("metric").where(), file + ":--set");
  EXPECT_EQ(std::get<std::vector<std::int64_t>>(r.analyses[1].raw.at("positions")),
            (std::vector<std::int64_t>{-1, -2}));
  EXPECT_EQ(r.experiment.description, "a b c");
  EXPECT_EQ(r.text, two_analyses());  // the file as written, not as overridden
}

TEST(RecipeOverrides, ByNameAndByIndexReachTheSameEntry) {
  TempDir dir;
  const std::string file = dir.write("r.toml", two_analyses());
  EXPECT_EQ(std::get<std::string>(load(file, {"analysis.sens.metric=kl"}).analyses[0].raw.at("metric")), "kl");
  EXPECT_EQ(std::get<std::string>(load(file, {"analysis.0.metric=kl"}).analyses[0].raw.at("metric")), "kl");
}

TEST(RecipeOverrides, OverriddenValueIsValidated) {
  TempDir dir;
  const std::string file = dir.write("r.toml", two_analyses());
  expect_names(error_of([&] { load(file, {"model.threads=-2"}); }),
               {file + ":--set", "model.threads = -2 is below the minimum 0"});
  expect_names(error_of([&] { load(file, {"model.dtype=float8"}); }),
               {file + ":--set", "model.dtype = \"float8\" is not one of"});
}

TEST(RecipeOverrides, OverrideCanCreateAMissingKey) {
  TempDir dir;
  const std::string file = dir.write("r.toml", two_analyses());
  EXPECT_EQ(load(file, {"model.threads=2"}).model.threads, 2);
}

TEST(RecipeOverrides, UnknownKeyIsAnError) {
  TempDir dir;
  const std::string file = dir.write("r.toml", two_analyses());
  expect_names(error_of([&] { load(file, {"model.dtyp=bfloat16"}); }),
               {file + ":--set", "unknown key model.dtyp", "did you mean 'dtype'?"});
  expect_names(error_of([&] { load(file, {"inputs.0.txt=x"}); }),
               {file + ":--set", "unknown key inputs[0].txt", "did you mean 'text'?"});
}

TEST(RecipeOverrides, UnknownSectionIsAnError) {
  TempDir dir;
  const std::string file = dir.write("r.toml", two_analyses());
  expect_names(error_of([&] { load(file, {"modle.dtype=bfloat16"}); }),
               {file, "--set modle.dtype=bfloat16", "unknown section 'modle'", "did you mean 'model'?"});
}

TEST(RecipeOverrides, UnknownEntryIsAnError) {
  TempDir dir;
  const std::string file = dir.write("r.toml", two_analyses());
  expect_names(error_of([&] { load(file, {"analysis.senz.metric=kl"}); }),
               {file, "--set analysis.senz.metric=kl", "no [[analysis]] entry has name 'senz'", "did you mean 'sens'?"});
  expect_names(error_of([&] { load(file, {"inputs.2.text=x"}); }),
               {file, "--set inputs.2.text=x", "has 2 [[inputs]] entries"});
}

TEST(RecipeOverrides, MalformedOverrides) {
  TempDir dir;
  const std::string file = dir.write("r.toml", two_analyses());
  expect_names(error_of([&] { load(file, {"model.dtype"}); }), {file, "--set model.dtype", "key=value"});
  expect_names(error_of([&] { load(file, {"model=3"}); }), {file, "--set model=3", "write model.key"});
  expect_names(error_of([&] { load(file, {"analysis.metric=kl"}); }), {file, "analysis.N.key"});
  expect_names(error_of([&] { load(file, {"model.threads=[1, 2"}); }), {file, "--set model.threads=[1, 2", "not TOML"});
}

}  // namespace
