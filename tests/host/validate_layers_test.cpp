// `validate` checks layer indices against config.json's layer count without
// loading weights (issue 9, item 12): `layers = [99]` on a 2-layer model is
// refused by validate as by run, naming the recipe line and the range.
#include <gtest/gtest.h>

#include <filesystem>

#include "host/layer_check.hpp"
#include "host_test_support.hpp"
#include "subprocess.hpp"

namespace {

using namespace mechlens::testing;

std::string sensitivity_recipe(const ScratchDir& dir, const std::string& layers) {
  write_good_recipe(dir);  // tiny BERT, 2 layers
  const std::string path = dir / "layers.toml";
  write_file(path, "[experiment]\nname = \"layers\"\n\n[model]\nadapter = \"bert\"\npath = \"tiny-bert\"\n\n"
                   "[[inputs]]\ntext = \"the cat sat on the [MASK] .\"\n\n"
                   "[[analysis]]\nplugin = \"sensitivity_matrix\"\nlayers = " + layers + "\n");
  return path;
}

TEST(ValidateLayers, OutOfRangeLayerIsRefusedWithoutLoadingWeights) {
  ScratchDir dir;
  const std::string recipe = sensitivity_recipe(dir, "[0, 99]");
  // No weights at all: validate must not need them.
  std::filesystem::remove(dir / "tiny-bert/model.safetensors");
  const auto r = run_command(shell_quote(mechlens_binary()) + " validate " + shell_quote(recipe));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(recipe + ":13: analysis[0] (sensitivity_matrix): layers: layer 99 is outside 0..1 "
                                   "(config.json: the model has 2 layers)"),
            std::string::npos)
      << r.output;
}

TEST(ValidateLayers, LayersInRangePass) {
  ScratchDir dir;
  const auto r = run_command(shell_quote(mechlens_binary()) + " validate " + shell_quote(sensitivity_recipe(dir, "[1]")));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(ValidateLayers, LayerCountFromTheConfig) {
  ScratchDir dir;
  write_file(dir / "lm/config.json", R"({"num_hidden_layers": 5})");
  write_file(dir / "vlm/config.json", R"({"text_config": {"num_hidden_layers": 7}})");
  write_file(dir / "none/config.json", R"({"hidden_size": 3})");
  EXPECT_EQ(mechlens::host::config_layer_count(dir / "lm"), 5);
  EXPECT_EQ(mechlens::host::config_layer_count(dir / "vlm"), 7);
  EXPECT_EQ(mechlens::host::config_layer_count(dir / "none"), std::nullopt);
  EXPECT_EQ(mechlens::host::config_layer_count(dir / "absent"), std::nullopt);
}

}  // namespace
