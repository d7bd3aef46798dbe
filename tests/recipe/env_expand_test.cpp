// ${VAR} expansion rules (env_expand.hpp), with a fixed lookup table.
#include "recipe/env_expand.hpp"

#include <gtest/gtest.h>

#include <map>

#include "recipe/suggest.hpp"
#include "recipe_test_support.hpp"

namespace {

using namespace recipe_test;
using mechlens::recipe::detail::expand;

std::optional<std::string> vars(const std::string& name) {
  static const std::map<std::string, std::string> table = {{"A", "alpha"}, {"EMPTY", ""}, {"B_2", "b"}};
  auto it = table.find(name);
  if (it == table.end()) return std::nullopt;
  return it->second;
}

std::string x(const std::string& s) { return expand(s, "f.toml:3", "model.path", vars); }

TEST(EnvExpand, Rules) {
  EXPECT_EQ(x("${A}/models/${B_2}"), "alpha/models/b");
  EXPECT_EQ(x("no variables, $5 and $A stay"), "no variables, $5 and $A stay");
  EXPECT_EQ(x("$${A} is literal"), "${A} is literal");
  EXPECT_EQ(x("${MISSING:-/default}"), "/default");
  EXPECT_EQ(x("${EMPTY:-used when empty}"), "used when empty");
  EXPECT_EQ(x("${A:-unused}"), "alpha");
  EXPECT_EQ(x("[${EMPTY}]"), "[]");
}

TEST(EnvExpand, Errors) {
  expect_names(error_of([] { x("${MISSING}/x"); }), {"f.toml:3", "model.path", "MISSING is not set"});
  expect_names(error_of([] { x("${A"); }), {"f.toml:3", "model.path", "unclosed"});
  expect_names(error_of([] { x("${1A}"); }), {"f.toml:3", "not a variable name"});
  expect_names(error_of([] { x("${}"); }), {"f.toml:3", "not a variable name"});
}

TEST(Suggest, ClosestKey) {
  using mechlens::recipe::detail::closest;
  const std::vector<std::string> keys = {"adapter", "path", "dtype", "device", "threads"};
  EXPECT_EQ(closest("dtyp", keys), "dtype");
  EXPECT_EQ(closest("thraeds", keys), "threads");  // a swapped pair counts once
  EXPECT_EQ(closest("Device", keys), "device");
  EXPECT_EQ(closest("checkpoint", keys), "");
}

}  // namespace
