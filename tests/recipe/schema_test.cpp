// schemas/recipe.schema.toml is the one source of truth: it parses, the binary
// carries exactly the file, the loader reads every key it declares and no
// other, and the validator's rules come from it (a different schema gives
// different rules).
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "recipe/check.hpp"
#include "recipe/fields.hpp"
#include "recipe/recipe.hpp"
#include "recipe/schema.hpp"
#include "recipe_test_support.hpp"

namespace {

using namespace recipe_test;
namespace detail = mechlens::recipe::detail;

std::string schema_file() {
  std::ifstream in(std::string(MECHLENS_SOURCE_DIR) + "/schemas/recipe.schema.toml", std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(RecipeSchema, EmbeddedTextIsTheSchemaFile) {
  const std::string file = schema_file();
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(std::string(mechlens::recipe::schema_text()), file);
}

TEST(RecipeSchema, SchemaParsesAndDeclaresTheFourSections) {
  const detail::Schema s = detail::parse_schema(schema_file(), "recipe.schema.toml");
  EXPECT_GE(s.version, 1);
  EXPECT_EQ(s.section_names(), (std::vector<std::string>{"analysis", "experiment", "inputs", "model"}));
  EXPECT_TRUE(s.section("inputs")->array);
  EXPECT_TRUE(s.section("analysis")->open);
  EXPECT_FALSE(s.section("model")->array);
  EXPECT_EQ(s.section("inputs")->shapes.size(), 3u);
}

TEST(RecipeSchema, LoaderReadsEveryDeclaredKeyAndNoOther) {
  TempDir dir;
  dir.write("img/a.png", "x");
  dir.write("flowers/rose.jpg", "x");
  dir.write("sentences.txt", "first prompt\nsecond prompt\n");
  const std::string text = R"(
[experiment]
name = "full"
description = "every key"
seed = 7
output = "out/full.h5"

[model]
adapter = "bert"
path = "models/bert"
dtype = "bfloat16"
device = "cpu"
threads = 2

[[inputs]]
id = "one"
text = "a [MASK] b"
image = "img/a.png"
expected = "x"
tags = ["t"]

[[inputs]]
id = "flowers"
image_dir = "flowers"
text = "What colour?"
limit = 1
expected = "red"
tags = ["f"]

[[inputs]]
id = "lines"
prompts_file = "sentences.txt"
limit = 1
expected = "y"
tags = ["s"]
answer_position = -1

[[analysis]]
plugin = "sensitivity_matrix"
name = "sens"
metric = "kl"
)";
  const std::string file = dir.write("full.toml", text);
  const mechlens::recipe::Recipe r = mechlens::recipe::load(file);
  EXPECT_EQ(r.experiment.seed, 7);
  EXPECT_EQ(r.inputs.size(), 3u);
  const std::set<std::string> read = detail::keys_read();
  for (const std::string& id : detail::schema().key_ids())
    EXPECT_TRUE(read.count(id)) << id << " is declared in the schema but the loader never reads it";
  for (const std::string& id : read) {
    const auto ids = detail::schema().key_ids();
    EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << id << " is read but not declared";
  }
}

TEST(RecipeSchema, ValidatorRulesComeFromTheSchema) {
  // A made-up schema: the same validator enforces its rules, not built-in ones.
  const detail::Schema s = detail::parse_schema(R"(
version = 1
[sections.box]
kind = "table"
required = true
[sections.box.keys.size]
type = "int"
max = 5
default = 1
[sections.box.keys.colour]
type = "string"
allowed = ["red", "blue"]
)",
                                                "test.schema.toml");
  auto check = [&](const std::string& text) {
    return detail::check(toml::parse(text), s, "t.toml", "/base");
  };
  const detail::Checked ok = check("[box]\ncolour = \"red\"\n");
  EXPECT_EQ(std::get<std::int64_t>(ok.at("box").front().values.at("size").value), 1);
  expect_names(error_of([&] { check("[box]\nsize = 6\n"); }), {"t.toml:2:", "box.size = 6 is above the maximum 5"});
  expect_names(error_of([&] { check("[box]\ncolour = \"green\"\n"); }), {"t.toml:2:", "box.colour = \"green\" is not one of red, blue"});
  expect_names(error_of([&] { check("[box]\nsise = 2\n"); }), {"t.toml:2:", "unknown key box.sise", "did you mean 'size'?"});
  expect_names(error_of([&] { check("[model]\n"); }), {"unknown section 'model'"});
  expect_names(error_of([&] { check(""); }), {"t.toml", "missing section [box]"});
}

TEST(RecipeSchema, SchemaErrorsNameTheAttributeAndLine) {
  expect_names(error_of([&] {
                 detail::parse_schema("version = 1\n[sections.a]\nkind = \"table\"\n[sections.a.keys.k]\ntype = \"int\"\nrequird = true\n",
                                      "s.toml");
               }),
               {"s.toml:6", "unknown schema attribute 'requird'", "did you mean 'required'?"});
  expect_names(error_of([&] {
                 detail::parse_schema("version = 1\n[sections.a]\nkind = \"table\"\n[sections.a.keys.k]\ntype = \"integer\"\n",
                                      "s.toml");
               }),
               {"s.toml:4", "type 'integer'"});
  expect_names(error_of([&] {
                 detail::parse_schema("version = 1\n[sections.a]\nkind = \"table\"\n[sections.a.keys.k]\ntype = \"string\"\n"
                                      "allowed = [\"x\"]\ndefault = \"y\"\n",
                                      "s.toml");
               }),
               {"s.toml:7", "default = \"y\" is not one of x"});
  expect_names(error_of([&] { detail::parse_schema("version = 1\n[sections.a]\nkind = \"list\"\n", "s.toml"); }),
               {"s.toml:2", "kind"});
}

}  // namespace
