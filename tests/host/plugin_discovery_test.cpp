// Finding plugins: folders in search order, the environment variable first,
// first-found wins for a duplicated name, broken files reported but not
// fatal to the others, and an unknown name listing what there is.
#include <gtest/gtest.h>

#include <filesystem>

#include "host/plugin_host.hpp"
#include "host_test_support.hpp"
#include "mechlens/abi.hpp"

namespace {

namespace fs = std::filesystem;
using mechlens::Error;
using mechlens::host::PluginHost;
using namespace mechlens::testing;

std::vector<std::string> names(const PluginHost& host) {
  std::vector<std::string> out;
  for (const auto& p : host.plugins()) out.push_back(p->name());
  return out;
}

std::string find_error(const PluginHost& host, const std::string& name) {
  try {
    host.find(name);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(PluginDiscovery, TestFolderHoldsGoodAndReportsTheBrokenOnes) {
  const PluginHost host({test_plugin_dir()});
  EXPECT_EQ(names(host), std::vector<std::string>{"good"});
  EXPECT_EQ(host.find("good").path(), test_plugin("good"));
  // bad_abi and no_factory failed to load: kept as problems, each with its file.
  ASSERT_EQ(host.problems().size(), 2u);
  EXPECT_EQ(host.problems()[0].name, "bad_abi");
  EXPECT_NE(host.problems()[0].message.find(test_plugin("bad_abi")), std::string::npos);
  EXPECT_EQ(host.problems()[1].name, "no_factory");
  // Asking for a broken plugin by name gives its reason, not "no plugin".
  EXPECT_NE(find_error(host, "bad_abi").find("rebuild the plugin"), std::string::npos);
  EXPECT_NE(find_error(host, "no_factory").find("mechlens_plugin_factory"), std::string::npos);
}

TEST(PluginDiscovery, OnlyFilesNamedLikePluginsAreTried) {
  ScratchDir dir;
  write_file(dir / "README.txt", "not a plugin");
  write_file(dir / "libsomething.so", "not a plugin either");
  fs::copy_file(test_plugin("good"), dir / "mechlens_plugin_good.so");
  const PluginHost host({dir.path().string()});
  EXPECT_EQ(names(host), std::vector<std::string>{"good"});
  EXPECT_TRUE(host.problems().empty());
  EXPECT_EQ(mechlens::host::plugin_name_from_file("mechlens_plugin_logit_lens.so"), "logit_lens");
  EXPECT_EQ(mechlens::host::plugin_name_from_file("mechlens_plugin_.so"), "");
  EXPECT_EQ(mechlens::host::plugin_name_from_file("libmechlens_plugin_x.so"), "");
}

TEST(PluginDiscovery, UnknownNameListsWhatWasFoundAndWhere) {
  ScratchDir empty;
  const PluginHost host({test_plugin_dir(), empty.path().string(), (empty / "missing")});
  const std::string message = find_error(host, "nope");
  EXPECT_EQ(message.rfind("no plugin 'nope' (found: good; searched: ", 0), 0u) << message;
  EXPECT_NE(message.find(test_plugin_dir()), std::string::npos) << message;
  EXPECT_NE(message.find(empty / "missing"), std::string::npos) << message;
}

TEST(PluginDiscovery, FirstFolderWinsADuplicatedNameWithAWarningNamingBoth) {
  ScratchDir a, b;
  fs::create_directories(a.path() / "one");
  fs::create_directories(b.path() / "two");
  const std::string first = (a.path() / "one" / "mechlens_plugin_good.so").string();
  const std::string second = (b.path() / "two" / "mechlens_plugin_good.so").string();
  fs::copy_file(test_plugin("good"), first);
  fs::copy_file(test_plugin("good"), second);

  const PluginHost host({(b.path() / "two").string(), (a.path() / "one").string()});
  EXPECT_EQ(names(host), std::vector<std::string>{"good"});
  EXPECT_EQ(host.find("good").path(), second);
  ASSERT_EQ(host.warnings().size(), 1u);
  EXPECT_NE(host.warnings()[0].find(first), std::string::npos) << host.warnings()[0];
  EXPECT_NE(host.warnings()[0].find(second), std::string::npos) << host.warnings()[0];
  EXPECT_LT(host.warnings()[0].find(second), host.warnings()[0].find(first)) << "the one used is named first";
}

TEST(PluginDiscovery, SameFolderTwiceIsScannedOnce) {
  const PluginHost host({test_plugin_dir(), test_plugin_dir() + "/."});
  EXPECT_EQ(names(host), std::vector<std::string>{"good"});
  EXPECT_TRUE(host.warnings().empty());
  EXPECT_EQ(host.searched().size(), 1u);
}

TEST(PluginDiscovery, EnvironmentFoldersComeFirstThenTheBuildFolder) {
  ScopedEnv env("MECHLENS_PLUGIN_PATH", "/tmp/first::/tmp/second");
  const std::vector<std::string> path = PluginHost::search_path();
  ASSERT_GE(path.size(), 3u);
  EXPECT_EQ(path[0], "/tmp/first");
  EXPECT_EQ(path[1], "/tmp/second");  // the empty entry is skipped
  EXPECT_EQ(path[2], std::string(MECHLENS_BINARY_DIR) + "/plugins");
}

TEST(PluginDiscovery, DefaultHostSeesTheEnvironmentFolder) {
  ScopedEnv env("MECHLENS_PLUGIN_PATH", test_plugin_dir());
  const PluginHost host;
  EXPECT_EQ(host.find("good").path(), test_plugin("good"));
  ASSERT_FALSE(host.searched().empty());
  EXPECT_EQ(host.searched()[0], test_plugin_dir());
}

}  // namespace
