// validate_params: a plugin's ParamSpec declaration checks the raw parameters
// of an [[analysis]] entry; errors name file, line, entry, plugin and parameter.
#include <gtest/gtest.h>

#include "recipe/recipe.hpp"
#include "recipe_test_support.hpp"

namespace {

using namespace recipe_test;
using mechlens::ParamSpec;
using mechlens::ParamType;
using mechlens::ParamValues;
namespace param = mechlens::param;
using mechlens::recipe::load;
using mechlens::recipe::validate_params;

std::vector<ParamSpec> specs() {
  return {
      param::string("metric", "top1_prob_change", "what is measured").choices({"top1_prob_change", "kl", "logit_diff"}),
      param::required("ablation", ParamType::string, "how a head is ablated").choices({"zero", "identity", "mean"}),
      param::integer("batch", 8, "variants per forward").at_least(1),
      param::real("scale", 1.0, "score factor").at_least(0).at_most(10),
      param::boolean("normalize", false, "normalise rows"),
      param::integer_list("layers", {}, "layers to sweep").at_least(0),
      param::real_list("weights", {1.0}, "weights"),
      param::string_list("metrics", {"kl"}, "metrics").choices({"top1_prob_change", "kl", "logit_diff"}),
  };
}

struct Loaded {
  TempDir dir;
  std::string text, file;
  mechlens::recipe::Recipe recipe;
  explicit Loaded(const std::string& params, const std::vector<std::string>& sets = {}) {
    text = recipe_text("", "", params);
    file = dir.write("r.toml", text);
    recipe = load(file, sets);
  }
  ParamValues validate() const { return validate_params(recipe.analyses.at(0), specs()); }
  std::string at(const std::string& marker) const { return file + ":" + std::to_string(line_of(text, marker)) + ":"; }
};

TEST(ValidateParams, DefaultsFillWhatIsNotGiven) {
  Loaded l("ablation = \"mean\"\n");
  const ParamValues v = l.validate();
  EXPECT_EQ(v.all().size(), specs().size());
  EXPECT_EQ(v.get<std::string>("ablation"), "mean");
  EXPECT_EQ(v.get<std::string>("metric"), "top1_prob_change");
  EXPECT_EQ(v.get<std::int64_t>("batch"), 8);
  EXPECT_EQ(v.get<double>("scale"), 1.0);
  EXPECT_EQ(v.get<bool>("normalize"), false);
  EXPECT_TRUE(v.get<std::vector<std::int64_t>>("layers").empty());
  EXPECT_EQ(v.get<std::vector<std::string>>("metrics"), std::vector<std::string>{"kl"});
}

TEST(ValidateParams, GivenValuesAndConversions) {
  Loaded l("ablation = \"zero\"\nmetric = \"kl\"\nbatch = 4\nscale = 2\nnormalize = true\nlayers = [0, 3]\n"
           "weights = [1, 2.5]\nmetrics = [\"kl\", \"logit_diff\"]\n");
  const ParamValues v = l.validate();
  EXPECT_EQ(v.get<std::string>("metric"), "kl");
  EXPECT_EQ(v.get<std::int64_t>("batch"), 4);
  EXPECT_EQ(v.get<double>("scale"), 2.0);  // an int where a float is expected
  EXPECT_TRUE(v.get<bool>("normalize"));
  EXPECT_EQ(v.get<std::vector<std::int64_t>>("layers"), (std::vector<std::int64_t>{0, 3}));
  EXPECT_EQ(v.get<std::vector<double>>("weights"), (std::vector<double>{1.0, 2.5}));
  EXPECT_EQ(v.get<std::vector<std::string>>("metrics"), (std::vector<std::string>{"kl", "logit_diff"}));
}

TEST(ValidateParams, IntListWhereFloatListIsExpected) {
  Loaded l("ablation = \"zero\"\nweights = [1, 2]\n");
  EXPECT_EQ(l.validate().get<std::vector<double>>("weights"), (std::vector<double>{1.0, 2.0}));
}

TEST(ValidateParams, EmptyListFitsAnyListType) {
  Loaded l("ablation = \"zero\"\nweights = []\nmetrics = []\n");
  EXPECT_TRUE(l.validate().get<std::vector<double>>("weights").empty());
}

TEST(ValidateParams, UnknownParameterListsTheDeclaredOnes) {
  Loaded l("ablation = \"zero\"\nmetirc = \"kl\"\n");
  expect_names(error_of([&] { l.validate(); }),
               {l.at("metirc"), "analysis[0] (sensitivity_matrix): unknown parameter 'metirc'", "did you mean 'metric'?",
                "takes metric, ablation, batch, scale, normalize, layers, weights, metrics"});
}

TEST(ValidateParams, PluginWithoutParameters) {
  Loaded l("x = 1\n");
  expect_names(error_of([&] { validate_params(l.recipe.analyses[0], {}); }),
               {l.at("x = 1"), "unknown parameter 'x'", "sensitivity_matrix takes no parameters"});
}

TEST(ValidateParams, WrongType) {
  Loaded l("ablation = \"zero\"\nbatch = \"8\"\n");
  expect_names(error_of([&] { l.validate(); }),
               {l.at("batch"), "analysis[0] (sensitivity_matrix): parameter 'batch' must be int, got string \"8\""});
}

TEST(ValidateParams, FloatIsNotAnInt) {
  Loaded l("ablation = \"zero\"\nbatch = 2.5\n");
  expect_names(error_of([&] { l.validate(); }), {l.at("batch"), "parameter 'batch' must be int, got float 2.5"});
}

TEST(ValidateParams, WrongListElementType) {
  Loaded l("ablation = \"zero\"\nlayers = [\"a\"]\n");
  expect_names(error_of([&] { l.validate(); }), {l.at("layers"), "parameter 'layers' must be int[]"});
  Loaded scalar("ablation = \"zero\"\nmetrics = \"kl\"\n");
  expect_names(error_of([&] { scalar.validate(); }), {scalar.at("metrics ="), "parameter 'metrics' must be string[]"});
}

TEST(ValidateParams, BelowMinimum) {
  Loaded l("ablation = \"zero\"\nbatch = 0\n");
  expect_names(error_of([&] { l.validate(); }), {l.at("batch"), "parameter 'batch' = 0 is below the minimum 1"});
  Loaded list("ablation = \"zero\"\nlayers = [0, -1]\n");
  expect_names(error_of([&] { list.validate(); }), {list.at("layers"), "parameter 'layers'[1] = -1 is below the minimum 0"});
}

TEST(ValidateParams, AboveMaximum) {
  Loaded l("ablation = \"zero\"\nscale = 10.5\n");
  expect_names(error_of([&] { l.validate(); }), {l.at("scale"), "parameter 'scale' = 10.5 is above the maximum 10"});
}

TEST(ValidateParams, NotAllowed) {
  Loaded l("ablation = \"zero\"\nmetric = \"foo\"\n");
  expect_names(error_of([&] { l.validate(); }),
               {l.at("metric") + " analysis[0] (sensitivity_matrix): parameter 'metric' = \"foo\" is not one of "
                                 "top1_prob_change, kl, logit_diff"});
  Loaded list("ablation = \"zero\"\nmetrics = [\"kl\", \"bogus\"]\n");
  expect_names(error_of([&] { list.validate(); }), {list.at("metrics"), "parameter 'metrics'[1] = \"bogus\" is not one of"});
}

TEST(ValidateParams, MissingRequired) {
  Loaded l("metric = \"kl\"\n");
  expect_names(error_of([&] { l.validate(); }),
               {l.at("[[analysis]]"), "analysis[0] (sensitivity_matrix): missing required parameter 'ablation'",
                "how a head is ablated"});
}

TEST(ValidateParams, OverriddenParameterIsCheckedAndNamedAsSet) {
  Loaded l("ablation = \"zero\"\n", {"analysis.0.batch=-3"});
  expect_names(error_of([&] { l.validate(); }), {l.file + ":--set:", "parameter 'batch' = -3 is below the minimum 1"});
}

}  // namespace
