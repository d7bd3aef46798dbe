// Loading one plugin file: the ABI check comes first, missing symbols and
// non-libraries are errors naming the file, and an Analysis keeps its
// library loaded for as long as it lives.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <boost/dll/shared_library.hpp>
#include <filesystem>

#include "host/plugin_host.hpp"
#include "host_test_support.hpp"
#include "mechlens/abi.hpp"
#include "mechlens/run_context.hpp"
#include "models/registry.hpp"

namespace {

using mechlens::Error;
using mechlens::host::LoadedPlugin;
using namespace mechlens::testing;

std::string load_error(const std::string& path) {
  try {
    LoadedPlugin::load(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool is_loaded(const std::string& path) {
  void* handle = ::dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  if (handle) ::dlclose(handle);
  return handle != nullptr;
}

TEST(PluginLoading, GoodPluginDescribesItself) {
  auto plugin = LoadedPlugin::load(test_plugin("good"));
  EXPECT_EQ(plugin->name(), "good");
  EXPECT_EQ(plugin->info().version, "2.3.4");
  EXPECT_EQ(plugin->path(), test_plugin("good"));
  ASSERT_EQ(plugin->info().params.size(), 5u);
  EXPECT_EQ(plugin->info().params[0].name, "label");
  EXPECT_FALSE(plugin->info().params[0].default_value.has_value());  // required
}

TEST(PluginLoading, AbiMismatchNamesFileAndBothVersionsAndNeverCallsTheFactory) {
  const std::string path = test_plugin("bad_abi");
  // Our own handle on the same library: its counter survives the host's
  // attempt, and shows whether the factory was called.
  boost::dll::shared_library witness(path);
  int& factory_calls = witness.get<int>("mechlens_test_factory_calls");
  ASSERT_EQ(factory_calls, 0);

  const std::string message = load_error(path);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("plugin ABI version " + std::to_string(mechlens::kPluginAbiVersion + 1)), std::string::npos)
      << message;
  EXPECT_NE(message.find("expects " + std::to_string(mechlens::kPluginAbiVersion)), std::string::npos) << message;
  EXPECT_NE(message.find("rebuild the plugin"), std::string::npos) << message;
  EXPECT_EQ(factory_calls, 0) << "the host called the factory of a plugin with another ABI";

  // The counter does count: calling the factory ourselves moves it.
  witness.get<const mechlens::PluginFactory*()>("mechlens_plugin_factory")();
  EXPECT_EQ(factory_calls, 1);
}

TEST(PluginLoading, MissingFactorySymbolIsNamed) {
  const std::string message = load_error(test_plugin("no_factory"));
  EXPECT_NE(message.find(test_plugin("no_factory")), std::string::npos) << message;
  EXPECT_NE(message.find("missing symbol 'mechlens_plugin_factory'"), std::string::npos) << message;
}

TEST(PluginLoading, LibraryWithoutAbiSymbolIsNotAPlugin) {
  // Any shared library that is not ours: the ABI symbol is missing.
  const std::string other = std::string(MECHLENS_BINARY_DIR) + "/lib/libmechlens.so";
  ASSERT_TRUE(std::filesystem::exists(other));
  const std::string message = load_error(other);
  EXPECT_NE(message.find(other), std::string::npos) << message;
  EXPECT_NE(message.find("missing symbol 'mechlens_plugin_abi_version'"), std::string::npos) << message;
}

TEST(PluginLoading, NonLibraryFileIsAnErrorNamingTheFile) {
  ScratchDir dir;
  const std::string path = dir / "mechlens_plugin_text.so";
  write_file(path, std::string(200, '#') + "\nthis is a text file, not a shared library\n");
  const std::string message = load_error(path);
  EXPECT_EQ(message.rfind(path + ": cannot load plugin: ", 0), 0u) << message;
  // dlopen's own reason is kept.
  EXPECT_NE(message.find("invalid ELF header"), std::string::npos) << message;

  const std::string missing = dir / "mechlens_plugin_absent.so";
  const std::string gone = load_error(missing);
  EXPECT_NE(gone.find(missing), std::string::npos) << gone;
  EXPECT_NE(gone.find("No such file"), std::string::npos) << gone;
}

TEST(PluginLoading, AnalysisKeepsItsLibraryLoadedAfterTheHostIsGone) {
  const std::string path = test_plugin("good");
  ASSERT_FALSE(is_loaded(path)) << "another test left the library loaded";

  ScratchDir dir;
  mechlens::tiny::TinyBertOptions options;
  mechlens::tiny::write_tiny_bert(dir / "bert", options);
  auto model = mechlens::models::load("bert", {dir / "bert", "float32", "cpu"});
  mechlens::InputSpec spec;
  spec.text = "the cat";
  const std::vector<mechlens::EncodedInput> inputs{model->encode(spec)};

  mechlens::host::AnalysisPtr analysis;
  mechlens::ParamValues params;
  {
    mechlens::host::PluginHost host({test_plugin_dir()});
    const auto& plugin = host.find("good");
    analysis = plugin.create();
    std::map<std::string, mechlens::ParamValue> values;
    for (const auto& spec_ : plugin.info().params)
      values[spec_.name] = spec_.default_value ? *spec_.default_value : mechlens::ParamValue(std::string("x"));
    params = mechlens::ParamValues(values);
  }
  // The host and every LoadedPlugin are gone; the Analysis still holds the library.
  EXPECT_TRUE(is_loaded(path));

  struct : mechlens::Logger {
    void info(const std::string&) override {}
    void warn(const std::string&) override {}
  } log;
  struct : mechlens::Progress {
    void update(const std::string&, std::int64_t, std::int64_t) override {}
  } progress;
  struct : mechlens::Figures {
    void heatmap(const mechlens::HeatmapFigure&) override {}
    void lines(const mechlens::LineFigure&) override {}
    void image_overlay(const mechlens::ImageOverlayFigure&) override {}
    void scatter(const mechlens::ScatterFigure&) override {}
    void token_strip(const mechlens::TokenStripFigure&) override {}
  } figures;
  MemoryGroup results;
  std::vector<std::string> findings;
  mechlens::RunContext ctx{*model, inputs, results, params, progress, log, findings, figures};
  analysis->run(ctx);  // calls into the plugin's code
  EXPECT_EQ(results.arrays.at("values"), (std::vector<double>{1.0, 2.0, 3.0}));
  EXPECT_EQ(results.arrays.at("n_tokens"), (std::vector<double>{static_cast<double>(inputs[0].ids.size())}));
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0], "x sum = 6.000000");

  analysis.reset();  // the last reference: now the library may go
  EXPECT_FALSE(is_loaded(path));
}

}  // namespace
