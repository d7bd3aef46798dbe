// activation_cache end to end, values included: `mechlens run` stores hook
// points, and each stored value is compared with an independent float64
// forward (tests/e2e/reference_activations.py over tests/models/reference)
// at the positions asked for, negative ones counted from the end; the layer
// filter keeps exactly the layers asked for; each hook's axes are named as its
// model declares them. On LLaVA-OneVision the vision tower's hooks keep every
// crop (base image and every high-resolution tile), and the image tokens'
// crop/row/col annotations follow the processor's grid as derived in Python
// from config.json (tests/e2e/expected_image_annotations.py).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <unistd.h>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include "python_requirement.hpp"
#include "subprocess.hpp"
#include "tiny_bert.hpp"
#include "tiny_llava_onevision.hpp"
#include "tiny_qwen2.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;

namespace {

class ActivationCacheValues : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mechlens-cache-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void run_recipe(const std::string& text) {
    std::ofstream(dir_ / "recipe.toml") << text;
    const auto r = run_command(mechlens::testing::mechlens_binary() + " run " + shell_quote((dir_ / "recipe.toml").string()) +
                               " --out " + shell_quote(archive().string()));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  json python(const std::string& script, const std::string& args) {
    const auto r = run_command("/usr/bin/python3 " + shell_quote(std::string(MECHLENS_SOURCE_DIR) + "/tests/e2e/" + script) +
                               " " + args + " 2>&1");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return json::parse(r.output, nullptr, false);
  }
  fs::path archive() const { return dir_ / "out.h5"; }
  fs::path dir_;
};

TEST_F(ActivationCacheValues, LayersPositionsAndLogitsMatchTheFloat64Reference) {
  MECHLENS_REQUIRE_PYTHON("h5py", "torch");
  mechlens::tiny::TinyBertOptions options;
  options.layers = 3;
  options.heads = 4;
  options.seed = 7;
  mechlens::tiny::write_tiny_bert((dir_ / "tiny-bert").string(), options);
  run_recipe(R"([experiment]
name = "cache-values"

[model]
adapter = "bert"
path = "tiny-bert"

[[inputs]]
id = "first"
text = "the cat sat on the [MASK] ."

[[inputs]]
id = "second"
text = "a dog runs to the [MASK] house"

[[analysis]]
plugin = "activation_cache"
name = "filtered"
hooks = ["blocks.*.attn.hook_pattern", "blocks.*.hook_resid_post"]
layers = [1]
positions = [0, -2]

[[analysis]]
plugin = "activation_cache"
name = "everything"
hooks = ["blocks.*.hook_resid_post"]
)");
  const json both = python("reference_activations.py", shell_quote(archive().string()) + " " +
                                                           shell_quote((dir_ / "tiny-bert").string()) + " filtered,everything");
  ASSERT_TRUE(both.is_object());
  const json& filtered = both["filtered"];
  const json& everything = both["everything"];
  ASSERT_TRUE(filtered.is_object() && everything.is_object());
  for (const char* input : {"first", "second"}) {
    SCOPED_TRACE(input);
    // Positions 0 and -2, counted from the end of this input.
    const json& f = filtered.at(input);
    const int n = f["n_tokens"].get<int>();
    EXPECT_EQ(f["positions"], json::array({0, n - 2}));
    // Only layer 1's hooks, with the model's axis names (batch dropped).
    std::set<std::string> hooks;
    for (const auto& [name, info] : f["datasets"].items())
      if (name.rfind("blocks.", 0) == 0) hooks.insert(name);
    EXPECT_EQ(hooks, (std::set<std::string>{"blocks.1.attn.hook_pattern", "blocks.1.hook_resid_post"}));
    const json& datasets = f["datasets"];
    EXPECT_EQ(datasets["blocks.1.attn.hook_pattern"]["dims"], json::array({"head", "q_pos", "k_pos"}));
    EXPECT_EQ(datasets["blocks.1.attn.hook_pattern"]["shape"], json::array({4, 2, n}));
    EXPECT_EQ(datasets["blocks.1.hook_resid_post"]["dims"], json::array({"pos", "d_model"}));
    EXPECT_EQ(datasets["logits"]["dims"], json::array({"pos", "vocab"}));
    // Values: float32 against float64, entries of order 1 (patterns <= 1,
    // layer-normed stream, logits of a few units): 1e-4 is ~100x the measured
    // difference and far below any wrong position, head or layer.
    for (const char* name : {"blocks.1.attn.hook_pattern", "blocks.1.hook_resid_post", "logits"}) {
      ASSERT_TRUE(datasets[name].contains("max_abs_diff"))
          << name << " shape " << datasets[name]["shape"] << " vs reference " << datasets[name]["reference_shape"];
      EXPECT_LT(datasets[name]["max_abs_diff"].get<double>(), 1e-4) << name;
      EXPECT_GT(datasets[name]["max_abs"].get<double>(), 0.1) << name;  // not vacuous
    }
    // No positions given: every position, every layer.
    const json& e = everything.at(input);
    std::vector<int> all(n);
    for (int i = 0; i < n; ++i) all[i] = i;
    EXPECT_EQ(e["positions"], json(all));
    for (int layer = 0; layer < 3; ++layer) {
      const std::string name = "blocks." + std::to_string(layer) + ".hook_resid_post";
      ASSERT_TRUE(e["datasets"].contains(name)) << name;
      ASSERT_TRUE(e["datasets"][name].contains("max_abs_diff")) << name;
      EXPECT_LT(e["datasets"][name]["max_abs_diff"].get<double>(), 1e-4) << name;
    }
    ASSERT_TRUE(e["datasets"]["logits"].contains("max_abs_diff"));
    EXPECT_LT(e["datasets"]["logits"]["max_abs_diff"].get<double>(), 1e-4);
  }
}

// The query and key caches (BERT's hook_q/hook_k; Qwen2's before and after the
// rotation, keys on 2 KV heads for 4 query heads) at chosen positions, against
// the float64 reference's projections.
TEST_F(ActivationCacheValues, QueryAndKeyCachesMatchTheFloat64Reference) {
  MECHLENS_REQUIRE_PYTHON("h5py", "torch");
  mechlens::tiny::TinyBertOptions bert;
  bert.layers = 2;
  bert.heads = 4;
  bert.seed = 11;
  mechlens::tiny::write_tiny_bert((dir_ / "tiny-bert").string(), bert);
  mechlens::tiny::write_tiny_qwen2((dir_ / "tiny-qwen2").string(), {});
  const struct {
    std::string model, adapter, hooks;
    std::vector<std::string> names;
    std::vector<int> widths;  // heads of each name's axis 1
  } cases[] = {
      {"tiny-bert", "bert", R"(["blocks.*.attn.hook_q", "blocks.*.attn.hook_k"])",
       {"blocks.1.attn.hook_q", "blocks.1.attn.hook_k"}, {4, 4}},
      {"tiny-qwen2", "qwen2",
       R"(["blocks.*.attn.hook_q", "blocks.*.attn.hook_k", "blocks.*.attn.hook_rot_q", "blocks.*.attn.hook_rot_k"])",
       {"blocks.1.attn.hook_q", "blocks.1.attn.hook_k", "blocks.1.attn.hook_rot_q", "blocks.1.attn.hook_rot_k"},
       {4, 2, 4, 2}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.adapter);
    fs::remove(archive());
    run_recipe("[experiment]\nname = \"cache-qk\"\n\n[model]\nadapter = \"" + c.adapter + "\"\npath = \"" + c.model +
               "\"\n\n[[inputs]]\nid = \"only\"\ntext = \"the cat sat on the [MASK] mat today\"\n\n"
               "[[analysis]]\nplugin = \"activation_cache\"\nhooks = " + c.hooks + "\nlayers = [1]\npositions = [1, -1]\n");
    const json checked = python("reference_activations.py", shell_quote(archive().string()) + " " +
                                                                 shell_quote((dir_ / c.model).string()) + " activation_cache");
    ASSERT_TRUE(checked.is_object());
    const json& datasets = checked["only"]["datasets"];
    const int n = checked["only"]["n_tokens"].get<int>();
    EXPECT_EQ(checked["only"]["positions"], json::array({1, n - 1}));
    for (std::size_t i = 0; i < c.names.size(); ++i) {
      const std::string& name = c.names[i];
      ASSERT_TRUE(datasets.contains(name)) << name;
      EXPECT_EQ(datasets[name]["shape"][0], 2) << name;
      EXPECT_EQ(datasets[name]["shape"][1], c.widths[i]) << name;
      ASSERT_TRUE(datasets[name].contains("max_abs_diff"))
          << name << " shape " << datasets[name]["shape"] << " vs reference " << datasets[name]["reference_shape"];
      // float32 projections of a layer-normed stream (entries of a few units):
      // 1e-4 is far below a wrong head, position or rotation.
      EXPECT_LT(datasets[name]["max_abs_diff"].get<double>(), 1e-4) << name;
      EXPECT_GT(datasets[name]["max_abs"].get<double>(), 0.1) << name;  // not vacuous
    }
    if (c.adapter == "qwen2") {
      // The rotation moved position 1 (a check that hook_q and hook_rot_q are told apart).
      EXPECT_NE(datasets["blocks.1.attn.hook_q"]["max_abs"], datasets["blocks.1.attn.hook_rot_q"]["max_abs"]);
    }
  }
}

TEST_F(ActivationCacheValues, VisionHooksKeepEveryCropAndImageTokensFollowTheProcessorGrid) {
  MECHLENS_REQUIRE_PYTHON("h5py", "torch");
  mechlens::tiny::write_tiny_llava_onevision((dir_ / "tiny-llava").string(), {});
  // 200 x 90 (wide): several high-resolution tiles, and unpadding removes rows.
  std::vector<unsigned char> rgb(200 * 90 * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<unsigned char>((i * 37) % 251);
  ASSERT_NE(stbi_write_png((dir_ / "wide.png").c_str(), 200, 90, 3, rgb.data(), 200 * 3), 0);
  run_recipe(R"([experiment]
name = "cache-crops"

[model]
adapter = "llava_onevision"
path = "tiny-llava"

[[inputs]]
id = "wide"
text = "What is this?"
image = "wide.png"

[[analysis]]
plugin = "activation_cache"
hooks = ["vision.hook_projected"]
positions = [-1]
)");
  const json annotations = python("expected_image_annotations.py",
                                  shell_quote(archive().string()) + " " + shell_quote((dir_ / "tiny-llava").string()));
  ASSERT_TRUE(annotations.is_object());
  const json& wide = annotations.at("wide");
  EXPECT_EQ(wide["stored"], wide["expected"]);
  const int crops = wide["crops"].get<int>();
  EXPECT_GT(crops, 2);  // the base image and more than one tile

  // vision.hook_projected: [crop, feature_patch, d_model], every crop, and no
  // two crops alike (a copy of crop 0 would be the old defect).
  const std::string script = std::string(MECHLENS_SOURCE_DIR) + "/tests/toys/read_datasets.py";
  const auto r = run_command("/usr/bin/python3 " + shell_quote(script) + " " + shell_quote(archive().string()) +
                             " analyses/activation_cache/wide/vision.hook_projected"
                             " analyses/activation_cache/wide/vision.hook_projected@dims");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json read = json::parse(r.output);
  const json& projected = read["analyses/activation_cache/wide/vision.hook_projected"];
  EXPECT_EQ(read["analyses/activation_cache/wide/vision.hook_projected@dims"],
            json::array({"crop", "feature_patch", "d_model"}));
  ASSERT_EQ(static_cast<int>(projected.size()), crops);
  for (int a = 0; a < crops; ++a)
    for (int b = a + 1; b < crops; ++b) EXPECT_NE(projected[a], projected[b]) << "crops " << a << " and " << b;
}

}  // namespace
