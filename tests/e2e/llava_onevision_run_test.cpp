// End to end on LLaVA-OneVision: `mechlens run` of a sensitivity recipe with
// an image on a tiny checkpoint, the archive read with h5py alone, and one
// entry recomputed here with a plain zeroing hook on the adapter.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include "mechlens/hooks.hpp"
#include "models/registry.hpp"
#include "subprocess.hpp"
#include "tiny_llava_onevision.hpp"
#include "python_requirement.hpp"

namespace fs = std::filesystem;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;

namespace {

// p(t*) at the last position with head h of layer l zeroed, the plain way.
double relative_change(const mechlens::Model& model, const mechlens::InputSpec& spec, int layer, int head) {
  const mechlens::EncodedInput input = model.encode(spec);
  const mechlens::Batch batch = model.make_batch({&input});
  const at::Tensor pos = at::tensor({input.answer_position}, at::kLong);
  at::NoGradGuard no_grad;
  const at::Tensor clean = at::softmax(model.forward(batch, nullptr, pos)[0][0].to(at::kDouble), -1);
  const std::int64_t top = clean.argmax().item<std::int64_t>();
  mechlens::HookSet hooks;
  hooks.add_write("blocks." + std::to_string(layer) + ".attn.hook_z", [head](const std::string&, const at::Tensor& z) {
    at::Tensor out = z.clone();
    out.select(2, head).zero_();
    return out;
  });
  const at::Tensor ablated = at::softmax(model.forward(batch, &hooks, pos)[0][0].to(at::kDouble), -1);
  return (ablated[top].item<double>() - clean[top].item<double>()) / clean[top].item<double>();
}

TEST(LlavaOnevisionRun, SensitivityRecipeWithAnImage) {
  MECHLENS_REQUIRE_PYTHON("h5py");
  const fs::path dir = fs::temp_directory_path() / ("mechlens-e2e-llava-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  mechlens::tiny::write_tiny_llava_onevision((dir / "tiny-llava").string(), {});
  // 640 x 480: a red square on grey.
  std::vector<unsigned char> rgb(640 * 480 * 3, 128);
  for (int y = 100; y < 250; ++y)
    for (int x = 150; x < 300; ++x) rgb[(y * 640 + x) * 3 + 1] = rgb[(y * 640 + x) * 3 + 2] = 20, rgb[(y * 640 + x) * 3] = 230;
  ASSERT_NE(stbi_write_png((dir / "red.png").c_str(), 640, 480, 3, rgb.data(), 640 * 3), 0);
  std::ofstream(dir / "recipe.toml") << R"([experiment]
name = "e2e-llava"

[model]
adapter = "llava_onevision"
path = "tiny-llava"

[[inputs]]
id = "red"
text = "Where is the red square?"
image = "red.png"

[[analysis]]
plugin = "sensitivity_matrix"
ablation = "zero"
)";
  const fs::path archive = dir / "out.h5";
  const auto r = run_command(mechlens::testing::mechlens_binary() + " run " + shell_quote((dir / "recipe.toml").string()) +
                             " --out " + shell_quote(archive.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto script = std::string(MECHLENS_SOURCE_DIR) + "/tests/e2e/read_sensitivity_archive.py";
  const auto read = run_command("/usr/bin/python3 " + shell_quote(script) + " " + shell_quote(archive.string()));
  ASSERT_EQ(read.exit_code, 0) << read.output;
  const auto json = nlohmann::json::parse(read.output);
  const auto& matrix = json["run_0001"]["top1_prob_change"];
  EXPECT_EQ(matrix["shape"], nlohmann::json::array({1, 2, 4}));

  auto model = mechlens::models::load("llava_onevision", {(dir / "tiny-llava").string(), "float32", "cpu"});
  mechlens::InputSpec spec;
  spec.id = "red";
  spec.text = "Where is the red square?";
  spec.image = (dir / "red.png").string();
  for (int layer : {0, 1})
    for (int head : {0, 3})
      EXPECT_NEAR(matrix["values"][0][layer][head].get<double>(), relative_change(*model, spec, layer, head), 1e-5)
          << "layer " << layer << " head " << head;
  fs::remove_all(dir);
}

}  // namespace
