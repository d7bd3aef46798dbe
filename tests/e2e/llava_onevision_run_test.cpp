// End to end on LLaVA-OneVision: `mechlens run` of a sensitivity recipe with
// an image on a tiny checkpoint, the archive read with h5py alone, four
// entries recomputed here with a plain zeroing hook on the adapter, and every
// entry of the three metrics against the float64 Python reference.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
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

  // Every entry of the three metrics against the independent float64
  // reference (tests/models/reference/llava_onevision_reference.py: SigLIP,
  // projector, anyres packing, Qwen2), given the pixel values the C++
  // preprocessing made (the preprocessing is tested apart) and the token ids
  // the archive recorded.
  MECHLENS_REQUIRE_PYTHON("torch");
  const mechlens::EncodedInput input = model->encode(spec);
  const auto stored_ids = run_command("/usr/bin/python3 " MECHLENS_SOURCE_DIR "/tests/toys/read_datasets.py " +
                                      shell_quote(archive.string()) + " inputs/by_id/red/ids");
  ASSERT_EQ(stored_ids.exit_code, 0) << stored_ids.output;
  const auto ids = nlohmann::json::parse(stored_ids.output)["inputs/by_id/red/ids"].get<std::vector<std::int64_t>>();
  ASSERT_EQ(ids, input.ids);
  const at::Tensor pixels = input.extras.at("pixel_values").to(at::kDouble).contiguous();
  const at::Tensor size = input.extras.at("image_size");
  nlohmann::json request;
  request["ids"] = {ids};
  request["mask"] = {std::vector<int>(ids.size(), 1)};
  request["images"] = {{{"pixel_values", std::vector<double>(pixels.data_ptr<double>(), pixels.data_ptr<double>() + pixels.numel())},
                        {"shape", pixels.sizes().vec()},
                        {"image_size", {size[0].item<std::int64_t>(), size[1].item<std::int64_t>()}}}};
  for (int layer = 0; layer < 2; ++layer)
    for (int head = 0; head < 4; ++head) request["zero_heads"].push_back({{layer, head}});
  std::ofstream(dir / "request.json") << request.dump();
  const auto ref_run = run_command("/usr/bin/python3 " MECHLENS_SOURCE_DIR "/tests/models/reference/llava_onevision_reference.py " +
                                   shell_quote((dir / "tiny-llava").string()) + " " +
                                   shell_quote((dir / "request.json").string()) + " " +
                                   shell_quote((dir / "reference.json").string()));
  ASSERT_EQ(ref_run.exit_code, 0) << ref_run.output;
  std::ifstream reference_file(dir / "reference.json");
  const auto reference = nlohmann::json::parse(reference_file);
  auto logits_at = [&](const std::string& name) {
    const auto& shape = reference[name]["shape"];  // [1, T, V]
    const std::int64_t vocab = shape[2].get<std::int64_t>();
    const auto& data = reference[name]["data"];
    std::vector<double> row(static_cast<std::size_t>(vocab));
    for (std::int64_t v = 0; v < vocab; ++v)
      row[static_cast<std::size_t>(v)] = data[static_cast<std::size_t>(input.answer_position * vocab + v)].get<double>();
    return at::tensor(row, at::kDouble);
  };
  const at::Tensor clean = logits_at("logits");
  const at::Tensor log_p = at::log_softmax(clean, -1);
  const at::Tensor top2 = std::get<1>(at::topk(clean, 2));
  const std::int64_t top = top2[0].item<std::int64_t>(), second = top2[1].item<std::int64_t>();
  // Tolerances as for the text toys (float32 vs float64 through a 2-layer
  // model: ~1e-5 measured), 10x margin.
  double worst[3] = {0, 0, 0}, largest[3] = {0, 0, 0};
  for (int layer = 0; layer < 2; ++layer)
    for (int head = 0; head < 4; ++head) {
      const at::Tensor zeroed = logits_at("logits_zeroed_" + std::to_string(layer * 4 + head));
      const at::Tensor log_q = at::log_softmax(zeroed, -1);
      const double p_top = log_p[top].exp().item<double>();
      const double want[3] = {(log_q[top].exp().item<double>() - p_top) / p_top,
                              (log_p.exp() * (log_p - log_q)).sum().item<double>(),
                              (zeroed[top] - zeroed[second] - (clean[top] - clean[second])).item<double>()};
      const char* names[3] = {"top1_prob_change", "kl", "logit_diff"};
      for (int m = 0; m < 3; ++m) {
        const double got = json["run_0001"][names[m]]["values"][0][layer][head].get<double>();
        EXPECT_NEAR(got, want[m], m == 2 ? 5e-4 : 1e-4) << names[m] << " layer " << layer << " head " << head;
        worst[m] = std::max(worst[m], std::abs(got - want[m]));
        largest[m] = std::max(largest[m], std::abs(want[m]));
      }
    }
  std::cout << "[ llava ] largest |stored - float64 reference|: top1_prob_change " << worst[0] << ", kl " << worst[1]
            << ", logit_diff " << worst[2] << " (largest |value| " << largest[0] << ", " << largest[1] << ", "
            << largest[2] << ")\n";
  for (int m = 0; m < 3; ++m) EXPECT_GT(largest[m], 1e-3) << "metric " << m << ": the comparison would be vacuous";
  EXPECT_EQ(json["run_0001"]["baseline_token"][0].get<std::int64_t>(), top);
  EXPECT_NEAR(json["run_0001"]["baseline_prob"][0].get<double>(), log_p[top].exp().item<double>(), 1e-5);
  fs::remove_all(dir);
}

}  // namespace
