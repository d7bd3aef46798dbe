// Loading recipes: every error kind names the file, the key and the line.
#include "recipe/recipe.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>

#include "recipe_test_support.hpp"

namespace {

using namespace recipe_test;
using mechlens::recipe::load;
using mechlens::recipe::Recipe;

std::string at(const std::string& file, int line) { return file + ":" + std::to_string(line) + ":"; }

TEST(RecipeLoad, ValidRecipeFillsDefaults) {
  TempDir dir;
  const std::string text = recipe_text();
  const std::string file = dir.write("r.toml", text);
  const Recipe r = load(file);
  EXPECT_EQ(r.path, fs::path(file).lexically_normal().string());
  EXPECT_EQ(r.text, text);
  EXPECT_EQ(r.experiment.name, "demo");
  EXPECT_EQ(r.experiment.description, "");
  EXPECT_EQ(r.experiment.seed, 0);
  EXPECT_EQ(r.experiment.output, (dir.path() / "demo.h5").string());
  EXPECT_EQ(r.model.adapter, "bert");
  EXPECT_EQ(r.model.dtype, "float32");
  EXPECT_EQ(r.model.device, "cpu");
  EXPECT_EQ(r.model.threads, 0);
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_EQ(r.inputs[0].id, "input_0");
  EXPECT_EQ(r.inputs[0].text, "the capital of france is [MASK] .");
  EXPECT_FALSE(r.inputs[0].image.has_value());
  EXPECT_TRUE(r.inputs[0].tags.empty());
  ASSERT_EQ(r.analyses.size(), 1u);
  EXPECT_EQ(r.analyses[0].plugin, "sensitivity_matrix");
  EXPECT_EQ(r.analyses[0].name, "sensitivity_matrix");  // default: the plugin's name
  EXPECT_EQ(r.analyses[0].index, 0u);
  EXPECT_TRUE(r.analyses[0].raw.empty());
}

TEST(RecipeLoad, ParseErrorNamesFileLineAndColumn) {
  TempDir dir;
  const std::string text = recipe_text("dtype = = \"float32\"\n");
  const std::string file = dir.write("broken.toml", text);
  const std::string msg = error_of([&] { load(file); });
  const std::string prefix = at(file, line_of(text, "dtype = ="));
  ASSERT_EQ(msg.rfind(prefix, 0), 0u) << msg;  // file:line:column: toml++'s message
  EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(msg[prefix.size()]))) << msg;
}

TEST(RecipeLoad, MissingFileIsAnError) {
  TempDir dir;
  const std::string file = (dir.path() / "absent.toml").string();
  expect_names(error_of([&] { load(file); }), {file, "no such file"});
}

TEST(RecipeLoad, UnknownTopLevelSection) {
  TempDir dir;
  const std::string text = recipe_text() + "\n[modle]\nthreads = 2\n";
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }),
               {at(file, line_of(text, "[modle]")), "unknown section 'modle'", "did you mean 'model'?"});
}

TEST(RecipeLoad, UnknownTopLevelKey) {
  TempDir dir;
  const std::string text = "title = \"x\"\n" + recipe_text();
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }), {at(file, 1), "unknown section 'title'"});
}

TEST(RecipeLoad, UnknownKeyInModelSuggestsClosest) {
  TempDir dir;
  const std::string text = recipe_text("dtyp = \"float32\"\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }),
               {at(file, line_of(text, "dtyp =")), "unknown key model.dtyp", "did you mean 'dtype'?"});
}

TEST(RecipeLoad, UnknownKeyInInputsNamesTheEntry) {
  TempDir dir;
  const std::string text = recipe_text("", "\n[[inputs]]\ntext = \"b\"\nimgae = \"a.png\"\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }),
               {at(file, line_of(text, "imgae")), "unknown key inputs[1].imgae", "did you mean 'image'?"});
}

TEST(RecipeLoad, KeyOfTheOtherInputShapeIsExplained) {
  TempDir dir;
  const std::string text = recipe_text("", "limit = 3\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }),
               {at(file, line_of(text, "limit")), "unknown key inputs[0].limit", "image_dir"});
}

TEST(RecipeLoad, UnknownKeyInExperiment) {
  TempDir dir;
  std::string text = recipe_text();
  text.insert(text.find("\n[model]"), "sed = 3\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }),
               {at(file, line_of(text, "sed =")), "unknown key experiment.sed", "did you mean 'seed'?"});
}

TEST(RecipeLoad, WrongType) {
  TempDir dir;
  const std::string text = recipe_text("threads = \"four\"\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }),
               {at(file, line_of(text, "threads")), "model.threads must be int", "got string \"four\""});
}

TEST(RecipeLoad, FloatIsNotAnInt) {
  TempDir dir;
  std::string text = recipe_text();
  text.insert(text.find("\n[model]"), "seed = 1.5\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }), {at(file, line_of(text, "seed")), "experiment.seed must be int"});
}

TEST(RecipeLoad, WrongTypeOfList) {
  TempDir dir;
  const std::string text = recipe_text("", "tags = \"geo\"\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }),
               {at(file, line_of(text, "tags")), "inputs[0].tags must be string[]", "got string \"geo\""});
}

TEST(RecipeLoad, OutOfRange) {
  TempDir dir;
  const std::string text = recipe_text("threads = -1\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }),
               {at(file, line_of(text, "threads")), "model.threads = -1 is below the minimum 0"});
}

TEST(RecipeLoad, NotAllowed) {
  TempDir dir;
  const std::string text = recipe_text("dtype = \"float8\"\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }),
               {at(file, line_of(text, "dtype")),
                "model.dtype = \"float8\" is not one of float32, bfloat16, float16, float64"});
}

TEST(RecipeLoad, PatternMismatch) {
  TempDir dir;
  const std::string text = recipe_text("device = \"gpu0\"\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }),
               {at(file, line_of(text, "device")), "model.device = \"gpu0\"", "cuda:N"});
  const std::string ok = dir.write("ok.toml", recipe_text("device = \"cuda:1\"\n"));
  EXPECT_EQ(load(ok).model.device, "cuda:1");
}

TEST(RecipeLoad, MissingRequiredKey) {
  TempDir dir;
  std::string text = recipe_text();
  text.erase(text.find("adapter = \"bert\"\n"), std::string("adapter = \"bert\"\n").size());
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }),
               {at(file, line_of(text, "[model]")), "missing required key model.adapter"});
}

TEST(RecipeLoad, MissingSection) {
  TempDir dir;
  std::string text = recipe_text();
  text = text.substr(0, text.find("[[analysis]]"));
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }), {file, "missing section [[analysis]]"});
}

TEST(RecipeLoad, SectionOfTheWrongKind) {
  TempDir dir;
  std::string text = recipe_text();
  text.replace(text.find("[[inputs]]"), 10, "[inputs]");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }), {file, "inputs must be an array of tables", "[[inputs]]"});
}

TEST(RecipeLoad, InputNeedsTextOrImage) {
  TempDir dir;
  const std::string text = recipe_text("", "\n[[inputs]]\nexpected = \"x\"\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }),
               {at(file, line_of(text, "[[inputs]]\nexpected") ), "inputs[1] needs at least one of text, image"});
}

TEST(RecipeLoad, UndefinedVariable) {
  TempDir dir;
  ::unsetenv("MECHLENS_TEST_SURELY_UNSET");
  const std::string text = recipe_text("", "expected = \"${MECHLENS_TEST_SURELY_UNSET}/x\"\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }),
               {at(file, line_of(text, "expected")), "inputs[0].expected", "MECHLENS_TEST_SURELY_UNSET is not set"});
}

TEST(RecipeLoad, VariableExpansion) {
  TempDir dir;
  ::setenv("MECHLENS_TEST_MODELS", "/opt/models", 1);
  ::unsetenv("MECHLENS_TEST_SURELY_UNSET");
  std::string text = recipe_text("", "", "note = \"$${literal} and ${MECHLENS_TEST_SURELY_UNSET:-fallback}\"\n");
  text.replace(text.find("models/tiny-bert"), 16, "${MECHLENS_TEST_MODELS}/tiny-bert");
  const std::string file = dir.write("r.toml", text);
  const Recipe r = load(file);
  EXPECT_EQ(r.model.path, "/opt/models/tiny-bert");
  EXPECT_EQ(std::get<std::string>(r.analyses[0].raw.at("note")), "${literal} and fallback");
}

TEST(RecipeLoad, RelativePathsResolveAgainstTheRecipeFolder) {
  TempDir dir;
  std::string text = recipe_text();
  text.insert(text.find("\n[model]"), "output = \"results/../out/run.h5\"\n");
  dir.write("sub/img/a.png", "not decoded here");
  const std::string abs_file = dir.write("elsewhere/b.png", "x");
  text += "\n[[inputs]]\nimage = \"img/a.png\"\n\n[[inputs]]\nimage = \"" + abs_file + "\"\n";
  const std::string file = dir.write("sub/r.toml", text);
  const Recipe r = load(file);
  const fs::path sub = dir.path() / "sub";
  EXPECT_EQ(r.model.path, (sub / "models" / "tiny-bert").string());
  EXPECT_EQ(r.experiment.output, (sub / "out" / "run.h5").string());
  ASSERT_EQ(r.inputs.size(), 3u);
  EXPECT_EQ(r.inputs[1].image.value(), (sub / "img" / "a.png").string());
  EXPECT_EQ(r.inputs[1].text, "");
  EXPECT_EQ(r.inputs[2].image.value(), abs_file);
}

TEST(RecipeLoad, ModelPathNeedNotExistYet) {
  TempDir dir;  // `validate` works without the checkpoint; the model loader checks it
  const std::string file = dir.write("r.toml", recipe_text());
  EXPECT_FALSE(fs::exists(load(file).model.path));
}

TEST(RecipeLoad, MissingImageNamesKeyLineAndResolvedPath) {
  TempDir dir;
  const std::string text = recipe_text("", "image = \"pics/missing.png\"\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }), {at(file, line_of(text, "image =")), "inputs[0].image",
                                              (dir.path() / "pics" / "missing.png").string(), "does not exist"});
}

TEST(RecipeLoad, ImageThatIsAFolder) {
  TempDir dir;
  fs::create_directories(dir.path() / "pics");
  const std::string text = recipe_text("", "image = \"pics\"\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }), {at(file, line_of(text, "image =")), "is not a file"});
}

TEST(RecipeLoad, ImageFolderExpandsSortedWithLimit) {
  TempDir dir;
  for (const char* name : {"c.JPEG", "b.png", "a.jpg", "d.png", "notes.txt"}) dir.write(std::string("flowers/") + name, "x");
  fs::create_directories(dir.path() / "flowers" / "sub.png");  // a folder, not an image
  const std::string folder = "\n[[inputs]]\nimage_dir = \"flowers/\"\ntext = \"What colour is the flower?\"\n"
                             "expected = \"red\"\ntags = [\"flowers\"]\nlimit = 3\n";
  const std::string file = dir.write("r.toml", recipe_text("", folder));
  const Recipe r = load(file);
  ASSERT_EQ(r.inputs.size(), 4u);
  EXPECT_EQ(r.inputs[0].id, "input_0");
  const std::vector<std::string> stems = {"a", "b", "c"};
  const std::vector<std::string> names = {"a.jpg", "b.png", "c.JPEG"};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& in = r.inputs[i + 1];
    EXPECT_EQ(in.id, "flowers/" + stems[i]);
    EXPECT_EQ(in.image.value(), (dir.path() / "flowers" / names[i]).string());
    EXPECT_EQ(in.text, "What colour is the flower?");
    EXPECT_EQ(in.expected, "red");
    EXPECT_EQ(in.tags, std::vector<std::string>{"flowers"});
  }
  // Without the limit, every image; with an id, it prefixes the ids.
  const std::string all = dir.write("all.toml", recipe_text("", "\n[[inputs]]\nid = \"f\"\nimage_dir = \"flowers\"\ntext = \"q\"\n"));
  const Recipe r2 = load(all);
  ASSERT_EQ(r2.inputs.size(), 5u);
  EXPECT_EQ(r2.inputs[4].id, "f/d");
}

TEST(RecipeLoad, PromptsFileGivesOneInputPerLine) {
  TempDir dir;
  dir.write("data/sentences.txt", "# seed 001\nThe brown capybara is sleeping now.\n\n  a [MASK] b  \r\nthird\nfourth\n");
  const std::string entry = "\n[[inputs]]\nprompts_file = \"data/sentences.txt\"\nexpected = \"x\"\ntags = [\"s\"]\n";
  const Recipe r = load(dir.write("r.toml", recipe_text("", entry)));
  ASSERT_EQ(r.inputs.size(), 5u);
  EXPECT_EQ(r.inputs[1].id, "sentences/2");  // ids carry the line number
  EXPECT_EQ(r.inputs[1].text, "The brown capybara is sleeping now.");
  EXPECT_EQ(r.inputs[2].id, "sentences/4");
  EXPECT_EQ(r.inputs[2].text, "a [MASK] b");  // trimmed, CR dropped
  EXPECT_EQ(r.inputs[4].id, "sentences/6");
  EXPECT_EQ(r.inputs[4].expected, "x");
  EXPECT_EQ(r.inputs[4].tags, std::vector<std::string>{"s"});
  EXPECT_FALSE(r.inputs[4].answer_position.has_value());
  const std::string limited =
      "\n[[inputs]]\nid = \"s\"\nprompts_file = \"data/sentences.txt\"\nlimit = 2\nanswer_position = -1\n";
  const Recipe r2 = load(dir.write("l.toml", recipe_text("", limited)));
  ASSERT_EQ(r2.inputs.size(), 3u);
  EXPECT_EQ(r2.inputs[2].id, "s/4");
  EXPECT_EQ(r2.inputs[2].answer_position, -1);  // for every prompt (BERT prompts without a [MASK])
}

TEST(RecipeLoad, PromptsFileErrorsNameFileAndLine) {
  TempDir dir;
  dir.write("empty.txt", "# nothing\n\n");
  dir.write("bad.txt", "fine\nbad \xff byte\n");
  const std::string empty_text = recipe_text("", "\n[[inputs]]\nprompts_file = \"empty.txt\"\n");
  const std::string empty = dir.write("e.toml", empty_text);
  expect_names(error_of([&] { load(empty); }), {at(empty, line_of(empty_text, "prompts_file")), "inputs[1].prompts_file",
                                               "no prompts", (dir.path() / "empty.txt").string()});
  const std::string bad = dir.write("b.toml", recipe_text("", "\n[[inputs]]\nprompts_file = \"bad.txt\"\n"));
  expect_names(error_of([&] { load(bad); }), {(dir.path() / "bad.txt").string() + ":2", "not valid UTF-8"});
  const std::string missing_text = recipe_text("", "\n[[inputs]]\nprompts_file = \"nope.txt\"\n");
  const std::string missing = dir.write("m.toml", missing_text);
  expect_names(error_of([&] { load(missing); }), {at(missing, line_of(missing_text, "prompts_file")),
                                                 "inputs[1].prompts_file", (dir.path() / "nope.txt").string()});
}

TEST(RecipeLoad, ImageFolderErrors) {
  TempDir dir;
  fs::create_directories(dir.path() / "empty");
  const std::string text = recipe_text("", "\n[[inputs]]\nimage_dir = \"empty\"\ntext = \"q\"\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }), {at(file, line_of(text, "image_dir")), "inputs[1].image_dir",
                                              "no .png, .jpg or .jpeg files", (dir.path() / "empty").string()});
  const std::string missing_text = recipe_text("", "\n[[inputs]]\nimage_dir = \"nope\"\ntext = \"q\"\n");
  const std::string missing = dir.write("m.toml", missing_text);
  expect_names(error_of([&] { load(missing); }), {at(missing, line_of(missing_text, "image_dir")),
                                                 "inputs[1].image_dir", (dir.path() / "nope").string()});
  const std::string notext_text = recipe_text("", "\n[[inputs]]\nimage_dir = \"empty\"\n");
  const std::string notext = dir.write("n.toml", notext_text);
  expect_names(error_of([&] { load(notext); }), {at(notext, line_of(notext_text, "[[inputs]]\nimage_dir")),
                                                "missing required key inputs[1].text"});
  const std::string limit_text = recipe_text("", "\n[[inputs]]\nimage_dir = \"empty\"\ntext = \"q\"\nlimit = 0\n");
  const std::string limit = dir.write("l.toml", limit_text);
  expect_names(error_of([&] { load(limit); }), {at(limit, line_of(limit_text, "limit")), "inputs[1].limit = 0 is below the minimum 1"});
}

TEST(RecipeLoad, DuplicateInputIds) {
  TempDir dir;
  const std::string text = recipe_text("", "id = \"q\"\n\n[[inputs]]\nid = \"q\"\ntext = \"b\"\n");
  const std::string file = dir.write("r.toml", text);
  const int second = line_of(text, "id = \"q\"\ntext = \"b\"");
  expect_names(error_of([&] { load(file); }), {at(file, second), "inputs[1] makes input id 'q'", "inputs[0] makes too"});
  // A folder's ids are <id>/<stem>, so a folder may share its id prefix with a single input.
  dir.write("flowers/rose.png", "x");
  const std::string t3 = recipe_text("", "id = \"flowers\"\n\n[[inputs]]\nid = \"flowers\"\nimage_dir = \"flowers\"\ntext = \"q\"\n");
  EXPECT_EQ(load(dir.write("r3.toml", t3)).inputs.at(1).id, "flowers/rose");
  // A default id clashing with an explicit one is caught after expansion.
  const std::string t2 = recipe_text("", "\n[[inputs]]\nid = \"input_0\"\ntext = \"b\"\n");
  const std::string f2 = dir.write("r2.toml", t2);
  expect_names(error_of([&] { load(f2); }), {f2, "input id 'input_0'"});
}

TEST(RecipeLoad, AnalysisEntriesKeepRawParametersWithLines) {
  TempDir dir;
  const std::string text = recipe_text("", "",
                                       "name = \"sens\"\nmetric = \"kl\"\nbatch = 8\nscale = 0.5\nlayers = [0, 2]\n"
                                       "\n[[analysis]]\nplugin = \"activation_cache\"\nhooks = [\"blocks.*.hook_z\"]\n");
  const std::string file = dir.write("r.toml", text);
  const Recipe r = load(file);
  ASSERT_EQ(r.analyses.size(), 2u);
  const auto& a = r.analyses[0];
  EXPECT_EQ(a.name, "sens");
  EXPECT_EQ(a.raw.size(), 4u);  // plugin and name are not parameters
  EXPECT_EQ(std::get<std::string>(a.raw.at("metric")), "kl");
  EXPECT_EQ(std::get<std::int64_t>(a.raw.at("batch")), 8);
  EXPECT_EQ(std::get<double>(a.raw.at("scale")), 0.5);
  EXPECT_EQ(std::get<std::vector<std::int64_t>>(a.raw.at("layers")), (std::vector<std::int64_t>{0, 2}));
  EXPECT_EQ(a.raw_sources.at("batch").line, line_of(text, "batch"));
  EXPECT_EQ(a.raw_sources.at("batch").file, file);
  EXPECT_EQ(a.source.line, line_of(text, "[[analysis]]"));
  EXPECT_EQ(r.analyses[1].name, "activation_cache");
  EXPECT_EQ(r.analyses[1].index, 1u);
  EXPECT_EQ(r.analyses[1].label(), "analysis[1] (activation_cache)");
}

TEST(RecipeLoad, TableAsPluginParameterIsAnError) {
  TempDir dir;
  const std::string text = recipe_text("", "", "window = { from = 1, to = 3 }\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }), {at(file, line_of(text, "window")), "analysis[0].window is a table"});
}

TEST(RecipeLoad, DuplicateAnalysisNames) {
  TempDir dir;
  const std::string text = recipe_text("", "", "\n[[analysis]]\nplugin = \"sensitivity_matrix\"\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { load(file); }),
               {at(file, line_of(text, "[[analysis]]\nplugin = \"sensitivity_matrix\"\n\n[[analysis]]") + 3),
                "analysis[1].name = \"sensitivity_matrix\" is already used by analysis[0]"});
}

TEST(RecipeLoad, TheShippedToyRecipeLoads) {
  ::setenv("MECHLENS_MODELS", "/models", 1);
  const Recipe r = load(std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy/tiny_bert_sensitivity.toml");
  EXPECT_EQ(r.model.path, "/models/tiny-bert");
  EXPECT_EQ(r.inputs.size(), 2u);
  EXPECT_EQ(r.analyses.size(), 2u);
}

}  // namespace

namespace {

using namespace recipe_test;

TEST(RecipeLoad, FirstErrorInFileOrderIsReported) {
  TempDir dir;
  // Errors in [model] (line 7) and [[analysis]] (later): [model] is reported.
  const std::string text = recipe_text("threads = -1\n", "", "\n[[analysis]]\nplugin = \"sensitivity_matrix\"\n");
  const std::string file = dir.write("r.toml", text);
  expect_names(error_of([&] { mechlens::recipe::load(file); }), {file + ":" + std::to_string(line_of(text, "threads")) + ":", "model.threads"});
}

}  // namespace

namespace {

using namespace recipe_test;

TEST(RecipeLoad, InlineAndDottedTablesReportTheirLines) {
  TempDir dir;
  const std::string inline_text =
      "model = { adapter = \"bert\", path = \"m\", dtype = \"float8\" }\n"
      "[experiment]\nname = \"x\"\n[[inputs]]\ntext = \"a\"\n[[analysis]]\nplugin = \"p\"\n";
  const std::string f1 = dir.write("inline.toml", inline_text);
  expect_names(error_of([&] { mechlens::recipe::load(f1); }), {f1 + ":1:", "model.dtype = \"float8\""});
  const std::string dotted_text =
      "model.adapter = \"bert\"\nmodel.path = \"m\"\nmodel.threads = -4\n"
      "[experiment]\nname = \"x\"\n[[inputs]]\ntext = \"a\"\n[[analysis]]\nplugin = \"p\"\n";
  const std::string f2 = dir.write("dotted.toml", dotted_text);
  expect_names(error_of([&] { mechlens::recipe::load(f2); }), {f2 + ":3:", "model.threads = -4"});
  const std::string missing_text = "model.path = \"m\"\n[experiment]\nname = \"x\"\n[[inputs]]\ntext = \"a\"\n[[analysis]]\nplugin = \"p\"\n";
  const std::string f3 = dir.write("missing.toml", missing_text);
  expect_names(error_of([&] { mechlens::recipe::load(f3); }), {f3 + ":1:", "missing required key model.adapter"});
}

}  // namespace
