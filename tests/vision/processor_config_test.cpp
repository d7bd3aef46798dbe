// Reading LlavaOnevisionProcessorConfig from a checkpoint directory: the
// values the processor uses, HF's defaults for missing keys, and errors that
// name the file and key.
#include "vision/processor_config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "golden_support.hpp"
#include "mechlens/error.hpp"

using namespace mechlens::vision;
using namespace vision_test;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("mechlens_vision_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  static int& counter() {
    static int n = 0;
    return n;
  }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path / name) << text; }
};

std::string error_of(const std::string& dir) {
  try {
    LlavaOnevisionProcessorConfig::load(dir);
  } catch (const mechlens::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ProcessorConfig, ReadsTheRealCheckpointLayout) {
  const LlavaOnevisionProcessorConfig c = LlavaOnevisionProcessorConfig::load(fixture("llava_ov_config"));
  EXPECT_EQ(c.crop_height, 384);
  EXPECT_EQ(c.crop_width, 384);
  EXPECT_EQ(c.grid_pinpoints.size(), 36u);
  EXPECT_EQ(c.grid_pinpoints.front(), std::make_pair(384, 384));
  EXPECT_EQ(c.grid_pinpoints[1], std::make_pair(384, 768));  // [height, width], rows first
  EXPECT_EQ(c.grid_pinpoints.back(), std::make_pair(2304, 2304));
  EXPECT_EQ(c.resample, Resample::bicubic);
  EXPECT_DOUBLE_EQ(c.rescale_factor, 0.00392156862745098);
  EXPECT_EQ(c.image_mean[0], 0.5);
  EXPECT_EQ(c.image_std[2], 0.5);
  EXPECT_EQ(c.patches_per_side, 27);
  EXPECT_EQ(c.max_num_patches, 9);
  EXPECT_EQ(c.vision_feature_select_strategy, "full");
}

TEST(ProcessorConfig, SmallConfigAndItsOverrides) {
  const LlavaOnevisionProcessorConfig c = LlavaOnevisionProcessorConfig::load(fixture("small_config"));
  EXPECT_EQ(c.crop_height, 28);
  EXPECT_EQ(c.resample, Resample::bilinear);
  EXPECT_EQ(c.patches_per_side, 2);
  EXPECT_EQ(c.max_num_patches, 4);
  EXPECT_EQ(c.vision_feature_select_strategy, "default");
  EXPECT_DOUBLE_EQ(c.image_mean[0], 0.48145466);
}

TEST(ProcessorConfig, MissingKeysTakeTheProcessorDefaults) {
  TempDir d;
  d.write("preprocessor_config.json", "{}");
  d.write("config.json", R"({"vision_config": {"image_size": 384, "patch_size": 14}})");
  const LlavaOnevisionProcessorConfig c = LlavaOnevisionProcessorConfig::load(d.path.string());
  EXPECT_EQ(c.crop_height, 384);
  EXPECT_EQ(c.grid_pinpoints, LlavaOnevisionProcessorConfig::default_pinpoints());
  EXPECT_EQ(c.resample, Resample::bicubic);
  EXPECT_DOUBLE_EQ(c.image_mean[0], 0.48145466);  // OPENAI_CLIP_MEAN
  EXPECT_DOUBLE_EQ(c.image_std[2], 0.27577711);
  EXPECT_EQ(c.patches_per_side, 27);              // from image_size // patch_size
  EXPECT_EQ(c.max_num_patches, 9);
}

TEST(ProcessorConfig, ShortestEdgeSize) {
  TempDir d;
  d.write("preprocessor_config.json", R"({"size": {"shortest_edge": 336}})");
  const LlavaOnevisionProcessorConfig c = LlavaOnevisionProcessorConfig::load(d.path.string());
  EXPECT_EQ(c.crop_height, 336);
  EXPECT_EQ(c.crop_width, 336);
}

TEST(ProcessorConfig, ErrorsNameFileAndKey) {
  {
    TempDir d;
    const std::string e = error_of(d.path.string());
    EXPECT_NE(e.find("preprocessor_config.json"), std::string::npos) << e;
  }
  {
    TempDir d;
    d.write("preprocessor_config.json", R"({"image_mean": [0.5, 0.5]})");
    const std::string e = error_of(d.path.string());
    EXPECT_NE(e.find("preprocessor_config.json: key 'image_mean'"), std::string::npos) << e;
  }
  {
    TempDir d;
    d.write("preprocessor_config.json", R"({"image_grid_pinpoints": [[384, 384], [384]]})");
    const std::string e = error_of(d.path.string());
    EXPECT_NE(e.find("image_grid_pinpoints[1]"), std::string::npos) << e;
  }
  {
    TempDir d;
    d.write("preprocessor_config.json", R"({"resample": 0})");
    const std::string e = error_of(d.path.string());
    EXPECT_NE(e.find("key 'resample'"), std::string::npos) << e;
  }
  {
    TempDir d;
    d.write("preprocessor_config.json", "{ not json");
    const std::string e = error_of(d.path.string());
    EXPECT_NE(e.find("preprocessor_config.json: invalid JSON"), std::string::npos) << e;
  }
  {
    TempDir d;
    d.write("preprocessor_config.json", R"({"image_grid_pinpoints": [[384, 384]]})");
    d.write("config.json", R"({"image_grid_pinpoints": [[384, 768]]})");
    const std::string e = error_of(d.path.string());
    EXPECT_NE(e.find("config.json: key 'image_grid_pinpoints'"), std::string::npos) << e;
  }
  {
    TempDir d;
    d.write("preprocessor_config.json", "{}");
    d.write("config.json", R"({"vision_aspect_ratio": "anyres"})");
    const std::string e = error_of(d.path.string());
    EXPECT_NE(e.find("vision_aspect_ratio"), std::string::npos) << e;
  }
}

TEST(ProcessorConfig, AspectRatioParsesLikePythonStrip) {
  EXPECT_EQ(parse_max_num_patches("anyres_max_9", "x"), 9);
  EXPECT_EQ(parse_max_num_patches("anyres_max_16", "x"), 16);
  EXPECT_THROW(parse_max_num_patches("anyres", "x"), mechlens::Error);
  EXPECT_THROW(parse_max_num_patches("anyres_max_9b", "x"), mechlens::Error);
}
