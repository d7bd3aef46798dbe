// The plugin SDK as a researcher meets it: `cmake --install` into a scratch
// prefix, `mechlens new-plugin` from the installed binary, the plugin built
// outside this tree with find_package(mechlens) against the installed public
// headers alone, loaded through MECHLENS_PLUGIN_PATH, run on a shipped toy,
// and its dataset read back with h5py. Then the prefix is moved and still works.
#include <set>

#include "python_requirement.hpp"
#include "sdk_test_support.hpp"

namespace {

using namespace mechlens::testing;

// No LD_LIBRARY_PATH: the installed files must find each other through their RPATHs.
std::string clean_env(const std::string& plugin_path = "") {
  return "env -u LD_LIBRARY_PATH -u MECHLENS_PLUGIN_PATH " +
         (plugin_path.empty() ? std::string() : "MECHLENS_PLUGIN_PATH=" + shell_quote(plugin_path) + " ");
}

std::set<std::string> file_names(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename().string());
  return names;
}

// Each installed header includes, in quotes, only other installed mechlens headers.
void expect_self_contained_headers(const fs::path& include) {
  EXPECT_EQ(file_names(include), std::set<std::string>{"mechlens"}) << "only the plugin API is installed";
  EXPECT_EQ(file_names(include / "mechlens"), file_names(fs::path(MECHLENS_SOURCE_DIR) / "framework/include/mechlens"));
  for (const auto& entry : fs::directory_iterator(include / "mechlens")) {
    std::istringstream lines(read_text(entry.path()));
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("#include \"", 0) != 0) continue;
      const std::string target = line.substr(10, line.find('"', 10) - 10);
      EXPECT_TRUE(target.rfind("mechlens/", 0) == 0 && fs::is_regular_file(include / target))
          << entry.path().filename() << " includes \"" << target << "\", which is not a public header";
    }
  }
}

using InstalledSdk = ScratchTest;

TEST_F(InstalledSdk, BuildsAndRunsAPluginOutsideTheTree) {
  MECHLENS_REQUIRE_PYTHON("h5py");
  const fs::path prefix = dir_ / "prefix";
  const std::string cmake = shell_quote(MECHLENS_CMAKE_COMMAND);
  CommandResult r = run_command(cmake + " --install " + shell_quote(MECHLENS_BINARY_DIR) + " --prefix " +
                                shell_quote(prefix.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;

  for (const char* file : {"bin/mechlens", "bin/mechlens-make-tiny", "lib/libmechlens.so",
                           "lib/mechlens/plugins/mechlens_plugin_sensitivity_matrix.so",
                           "lib/cmake/mechlens/mechlensConfig.cmake", "lib/cmake/mechlens/MechlensPlugin.cmake",
                           "share/mechlens/schemas/recipe.schema.toml", "share/doc/mechlens/writing-a-plugin.md",
                           "share/mechlens/toy/models/induction/model.safetensors"})
    EXPECT_TRUE(fs::is_regular_file(prefix / file)) << file;
  expect_self_contained_headers(prefix / "include");

  // The installed mechlens finds its own plugins beside itself, not in the build.
  const std::string mechlens = shell_quote((prefix / "bin/mechlens").string());
  r = run_command(clean_env() + mechlens + " plugins");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find((prefix / "lib/mechlens/plugins/mechlens_plugin_sensitivity_matrix.so").string()),
            std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(MECHLENS_BINARY_DIR), std::string::npos) << "an installed mechlens used the build\n" << r.output;

  // The scaffold, from the installed binary: its recipe points at the installed toy.
  const fs::path folder = dir_ / "work" / "head_focus";
  r = run_command(clean_env() + mechlens + " new-plugin head_focus " + shell_quote(folder.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("-DCMAKE_PREFIX_PATH=" + prefix.string() + "\n"), std::string::npos) << r.output;
  EXPECT_NE(read_text(folder / "head_focus.toml").find((prefix / "share/mechlens/toy/models/induction").string()),
            std::string::npos);

  // Built as the README says, with find_package(mechlens) from the prefix (Makefiles: flags.make is read below).
  const fs::path build = dir_ / "work" / "build";
  r = run_command(cmake + " -G 'Unix Makefiles' -S " + shell_quote(folder.string()) + " -B " +
                  shell_quote(build.string()) +
                  " -DCMAKE_PREFIX_PATH=" + shell_quote(prefix.string()) +
                  " -DCMAKE_CXX_COMPILER=" + shell_quote(MECHLENS_CXX_COMPILER));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command(cmake + " --build " + shell_quote(build.string()) + " -j2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Compiled against the prefix alone: nothing of this source tree on its command line.
  const std::string flags = read_text(build / "CMakeFiles/head_focus.dir/flags.make");
  EXPECT_NE(flags.find((prefix / "include").string()), std::string::npos) << flags;
  EXPECT_EQ(flags.find(MECHLENS_SOURCE_DIR), std::string::npos) << flags;
  ASSERT_TRUE(fs::is_regular_file(build / "plugins/mechlens_plugin_head_focus.so"));

  r = run_command(clean_env((build / "plugins").string()) + mechlens + " run " +
                  shell_quote((folder / "head_focus.toml").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("head_focus: most focused head: layer "), std::string::npos) << r.output;
  expect_entropy_results(read_entropy_archive(folder / "head_focus.h5", "head_focus"));

  // Moved elsewhere, the prefix still works: everything is found relative to it.
  const fs::path moved = dir_ / "moved";
  fs::rename(prefix, moved);
  r = run_command(clean_env() + shell_quote((moved / "bin/mechlens").string()) + " plugins");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find((moved / "lib/mechlens/plugins/mechlens_plugin_sensitivity_matrix.so").string()),
            std::string::npos) << r.output;
  r = run_command(clean_env() + shell_quote((moved / "bin/mechlens-make-tiny").string()) + " qwen2 " +
                  shell_quote((dir_ / "tiny").string()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::is_regular_file(dir_ / "tiny/model.safetensors")) << r.output;
}

}  // namespace
