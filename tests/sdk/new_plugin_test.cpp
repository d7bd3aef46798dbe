// `mechlens new-plugin` and the guide: the folder it writes, the guide quoting
// the very files it writes from, and the example plugin (the template,
// compiled in-tree by tests/sdk/CMakeLists.txt) running on a toy model.
#include <algorithm>
#include <regex>

#include "python_requirement.hpp"
#include "sdk_test_support.hpp"

namespace {

using namespace mechlens::testing;

CommandResult mechlens_cli(const std::string& args) { return run_command(shell_quote(mechlens_binary()) + " " + args); }

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

using NewPlugin = ScratchTest;

TEST_F(NewPlugin, WritesTheTemplatesRenamed) {
  const fs::path dir = dir_ / "my_probe";
  const CommandResult r = mechlens_cli("new-plugin head_focus_2 " + shell_quote(dir.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* file : {"head_focus_2.cpp", "CMakeLists.txt", "head_focus_2.toml", "README.md"})
    EXPECT_TRUE(fs::is_regular_file(dir / file)) << file << "\n" << r.output;

  // Exactly the templates, with the example's names replaced and the toy's path filled in.
  const std::string cpp = read_text(dir / "head_focus_2.cpp");
  EXPECT_EQ(cpp, replace_all(replace_all(read_text(scaffold_dir() / "attention_entropy.cpp"), "attention_entropy",
                                         "head_focus_2"),
                             "AttentionEntropy", "HeadFocus2"));
  EXPECT_NE(cpp.find("class HeadFocus2 : public Analysis"), std::string::npos);
  EXPECT_NE(cpp.find("MECHLENS_PLUGIN(HeadFocus2)"), std::string::npos);
  EXPECT_NE(read_text(dir / "CMakeLists.txt").find("mechlens_add_plugin(head_focus_2 SOURCES head_focus_2.cpp)"),
            std::string::npos);
  const std::string recipe = read_text(dir / "head_focus_2.toml");
  EXPECT_EQ(recipe.find("@TOY_MODELS@"), std::string::npos) << recipe;
  const std::string toy = std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy/models/induction";
  EXPECT_NE(recipe.find("path = \"" + toy + "\""), std::string::npos) << "run from the build tree: the source's toys\n"
                                                                     << recipe;
  EXPECT_NE(recipe.find("plugin = \"head_focus_2\""), std::string::npos) << recipe;

  // Never overwrites: a second run into the same folder fails and leaves the files.
  std::ofstream(dir / "head_focus_2.cpp") << "mine";
  const CommandResult again = mechlens_cli("new-plugin head_focus_2 " + shell_quote(dir.string()));
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_NE(again.output.find("not empty"), std::string::npos) << again.output;
  EXPECT_EQ(read_text(dir / "head_focus_2.cpp"), "mine");
}

TEST_F(NewPlugin, DefaultFolderIsTheName) {
  const CommandResult r = run_command("cd " + shell_quote(dir_.string()) + " && " + shell_quote(mechlens_binary()) +
                                      " new-plugin probe");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::is_regular_file(dir_ / "probe" / "probe.cpp"));
}

TEST_F(NewPlugin, RefusesNamesThatCannotBeATargetAndAClass) {
  for (const char* bad : {"Probe", "my-probe", "test"}) {
    const CommandResult r = mechlens_cli(std::string("new-plugin ") + bad + " " + shell_quote((dir_ / "x").string()));
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
    EXPECT_NE(r.output.find(bad), std::string::npos) << r.output;
  }
  EXPECT_FALSE(fs::exists(dir_ / "x"));
  EXPECT_EQ(mechlens_cli("new-plugin").exit_code, 2);
}

// Every fenced block preceded by `<!-- quoted from PATH -->` must be PATH's
// text (a recipe's toy path shown for the prefix /opt/mechlens), and the
// guide must quote the plugin's source in full.
TEST(WritingAPluginGuide, QuotesTheScaffoldUnchanged) {
  const std::string guide = read_text(fs::path(MECHLENS_SOURCE_DIR) / "docs/writing-a-plugin.md");
  ASSERT_FALSE(guide.empty());
  const std::regex quoted("<!-- quoted from ([^ ]+) -->\n```[a-z]*\n");
  std::vector<std::string> files;
  for (auto it = std::sregex_iterator(guide.begin(), guide.end(), quoted); it != std::sregex_iterator(); ++it) {
    const std::string path = (*it)[1];
    files.push_back(path);
    const std::size_t start = it->position() + it->length();
    const std::size_t end = guide.find("```\n", start);
    ASSERT_NE(end, std::string::npos) << path;
    const std::string expected =
        replace_all(read_text(fs::path(MECHLENS_SOURCE_DIR) / path), "@TOY_MODELS@", "/opt/mechlens/share/mechlens/toy/models");
    ASSERT_FALSE(expected.empty()) << path;
    EXPECT_EQ(guide.substr(start, end - start), expected)
        << "docs/writing-a-plugin.md quotes " << path << " out of date: paste the file again";
  }
  for (const char* must : {"framework/cli/new_plugin/attention_entropy.cpp", "framework/cli/new_plugin/CMakeLists.txt.in",
                           "framework/cli/new_plugin/attention_entropy.toml.in"})
    EXPECT_NE(std::find(files.begin(), files.end(), must), files.end()) << "the guide does not quote " << must;
}

// The template itself (built in-tree as test_plugins/scaffold) on the toy
// induction model, through the recipe new-plugin writes.
using ScaffoldExample = ScratchTest;

TEST_F(ScaffoldExample, RunsOnTheToyAndWritesNamedDatasets) {
  MECHLENS_REQUIRE_PYTHON("h5py");
  const fs::path folder = dir_ / "attention_entropy";
  ASSERT_EQ(mechlens_cli("new-plugin attention_entropy " + shell_quote(folder.string())).exit_code, 0);
  const CommandResult r = run_command("MECHLENS_PLUGIN_PATH=" + shell_quote(MECHLENS_SCAFFOLD_PLUGIN_DIR) + " " +
                                      shell_quote(mechlens_binary()) + " run " +
                                      shell_quote((folder / "attention_entropy.toml").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("attention_entropy: most focused head: layer "), std::string::npos) << r.output;
  expect_entropy_results(read_entropy_archive(folder / "attention_entropy.h5", "attention_entropy"));
  EXPECT_TRUE(fs::is_regular_file(folder / "attention_entropy_figures/run_0001/attention_entropy/entropy_mean.png"));
}

}  // namespace
