// Image inputs in the provenance (schemas/results.md §6.2): the image's path,
// the SHA-256 of its bytes, its size, and the image tokens' crop/row/col, on
// a tiny LLaVA-OneVision; folder inputs ("<folder>/<image>") as nested groups.
// Images are made by PIL and hashed by sha256sum, not by our code.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "host/run.hpp"
#include "host_test_support.hpp"
#include "recipe/recipe.hpp"
#include "subprocess.hpp"
#include "tiny_llava_onevision.hpp"
#include "python_requirement.hpp"

namespace {

using namespace mechlens::testing;

struct Silent : mechlens::Logger, mechlens::Progress {
  void info(const std::string&) override {}
  void warn(const std::string&) override {}
  void update(const std::string&, std::int64_t, std::int64_t) override {}
};

void make_png(const std::string& path, int width, int height) {
  const auto r = run_command("/usr/bin/python3 -c " +
                             shell_quote("import sys; from PIL import Image; "
                                         "Image.new('RGB', (int(sys.argv[2]), int(sys.argv[3])), (200, 30, 40))"
                                         ".save(sys.argv[1])") +
                             " " + shell_quote(path) + " " + std::to_string(width) + " " + std::to_string(height));
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

std::string sha256sum(const std::string& path) { return run_command("sha256sum " + shell_quote(path)).output.substr(0, 64); }

TEST(ImageInputs, ImageHashSizeAndPatchPositionsAreRecorded) {
  MECHLENS_REQUIRE_PYTHON("h5py", "PIL");
  ScratchDir dir;
  mechlens::tiny::TinyLlavaOptions options;
  mechlens::tiny::write_tiny_llava_onevision(dir / "llava", options);
  make_png(dir / "wide.png", 90, 60);
  std::filesystem::create_directories(dir / "shapes");
  make_png(dir / "shapes/a.png", 56, 56);
  make_png(dir / "shapes/b.png", 70, 40);
  const std::string recipe = dir / "recipe.toml";
  write_file(recipe, R"([experiment]
name = "images"

[model]
adapter = "llava_onevision"
path = "llava"
threads = 1

[[inputs]]
id = "single"
text = "What colour is the shape?"
image = "wide.png"
expected = "red"
tags = ["colour"]

[[inputs]]
image_dir = "shapes"
text = "Where is the shape?"

[[analysis]]
plugin = "good"
label = "img"
)");
  Silent silent;
  mechlens::host::RunOptions run;
  run.out = dir / "out.h5";
  run.logger = &silent;
  run.progress = &silent;
  run.plugin_dirs = {test_plugin_dir()};
  mechlens::host::run_recipe(mechlens::recipe::load(recipe), run);

  const auto dump = run_command("/usr/bin/python3 " +
                                shell_quote(std::string(MECHLENS_SOURCE_DIR) + "/tests/host/read_archive.py") + " " +
                                shell_quote(dir / "out.h5"));
  ASSERT_EQ(dump.exit_code, 0) << dump.output;
  const nlohmann::json a = nlohmann::json::parse(dump.output);
  const std::string inputs = "/runs/run_0001/inputs";
  EXPECT_EQ(a.at(inputs + "/input")["values"], nlohmann::json::array({"single", "shapes/a", "shapes/b"}));
  EXPECT_EQ(a.at(inputs + "/image")["values"],
            nlohmann::json::array({dir / "wide.png", dir / "shapes/a.png", dir / "shapes/b.png"}));
  EXPECT_EQ(a.at(inputs + "/image_sha256")["values"],
            nlohmann::json::array({sha256sum(dir / "wide.png"), sha256sum(dir / "shapes/a.png"),
                                   sha256sum(dir / "shapes/b.png")}));
  EXPECT_EQ(a.at(inputs + "/expected")["values"], nlohmann::json::array({"red", "", ""}));

  const auto& single = a.at(inputs + "/by_id/single");
  EXPECT_EQ(single["attrs"]["image_width"], 90);
  EXPECT_EQ(single["attrs"]["image_height"], 60);
  EXPECT_EQ(single["attrs"]["tags"], nlohmann::json::array({"colour"}));
  // Image tokens (modality 1) carry a crop and a patch position; the rest -1.
  const auto& modality = a.at(inputs + "/by_id/single/modality")["values"];
  const auto& crop = a.at(inputs + "/by_id/single/crop")["values"];
  const auto& row = a.at(inputs + "/by_id/single/row")["values"];
  int image_tokens = 0;
  for (std::size_t i = 0; i < modality.size(); ++i) {
    if (modality[i] == 1) {
      ++image_tokens;
      EXPECT_GE(crop[i].get<int>(), 0) << i;
    } else {
      EXPECT_EQ(crop[i], -1) << i;
      EXPECT_EQ(row[i], -1) << i;
    }
  }
  EXPECT_GT(image_tokens, 0);
  // Folder inputs: one group level per '/' of the id.
  EXPECT_EQ(a.at(inputs + "/by_id/shapes/b")["attrs"]["image_width"], 70);
  EXPECT_EQ(a.at(inputs + "/by_id/shapes/b")["attrs"]["image_height"], 40);
  EXPECT_TRUE(a.contains(inputs + "/by_id/shapes/a/tokens"));
}

TEST(ImageInputs, TokenizeWithAnImageShowsImageTokens) {
  MECHLENS_REQUIRE_PYTHON("PIL");
  ScratchDir dir;
  mechlens::tiny::TinyLlavaOptions options;
  mechlens::tiny::write_tiny_llava_onevision(dir / "llava", options);
  make_png(dir / "img.png", 90, 60);
  const auto with = run_command(shell_quote(mechlens_binary()) + " tokenize " + shell_quote(dir / "llava") +
                                " 'What is it?' --json --image " + shell_quote(dir / "img.png"));
  ASSERT_EQ(with.exit_code, 0) << with.output;
  const auto without = run_command(shell_quote(mechlens_binary()) + " tokenize " + shell_quote(dir / "llava") +
                                   " 'What is it?' --json");
  ASSERT_EQ(without.exit_code, 0) << without.output;
  const auto j = nlohmann::json::parse(with.output);
  int image = 0;
  for (const auto& m : j["modalities"]) image += m == "image";
  EXPECT_GT(image, 0) << with.output;
  for (const auto& m : nlohmann::json::parse(without.output)["modalities"]) EXPECT_NE(m, "image");
}

}  // namespace
