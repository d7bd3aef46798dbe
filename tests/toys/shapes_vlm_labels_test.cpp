// The shapes VLM's labels (experiments/toy/models/shapes_vlm/mechanisms.json,
// held_out.colour_heads: per decoder head, the colour accuracy with the head
// zeroed and the last token's attention on the image) were measured by its
// trainer with mechlens' own forward and hooks. Here they are re-measured with
// the independent float64 reference (tests/models/reference/
// llava_onevision_reference.py: SigLIP, projector, anyres packing, Qwen2) on
// the 40 committed held-out images (experiments/toy/data/shapes). Only the
// pixel values and token ids come from mechlens (its preprocessing, tested
// apart against the processor's arithmetic); the forward, the zeroing and the
// attention are the reference's.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "models/registry.hpp"
#include "python_requirement.hpp"
#include "subprocess.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;

const std::string kToy = std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy/models/shapes_vlm";
const std::string kData = std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy/data/shapes";

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

TEST(ShapesVlmLabels, ColourHeadHoldsUnderTheReferenceForward) {
  MECHLENS_REQUIRE_PYTHON("torch");
  const json annotations = read_json(kData + "/annotations.json");
  const json mechanisms = read_json(kToy + "/mechanisms.json");
  const auto model = mechlens::models::load("llava_onevision", {kToy, "float32", "cpu"});
  const int layers = static_cast<int>(model->geometry().n_layers), heads = static_cast<int>(model->geometry().n_heads);
  const std::string space = mechanisms["answer_spelling"].get<std::string>() == "leading space" ? " " : "";

  // One request: every image's colour question, all heads zeroed one at a time.
  json request;
  std::vector<std::int64_t> expected;
  std::size_t longest = 0;
  std::vector<std::vector<std::int64_t>> rows;
  for (const auto& image : annotations["images"]) {
    mechlens::InputSpec spec;
    spec.id = image["file"].get<std::string>();
    spec.text = mechanisms["questions"]["colour"].get<std::string>();
    spec.image = kData + "/" + spec.id;
    const mechlens::EncodedInput input = model->encode(spec);
    const at::Tensor pixels = input.extras.at("pixel_values").to(at::kDouble).contiguous();
    const at::Tensor size = input.extras.at("image_size");
    request["images"].push_back({{"pixel_values", std::vector<double>(pixels.data_ptr<double>(),
                                                                      pixels.data_ptr<double>() + pixels.numel())},
                                 {"shape", pixels.sizes().vec()},
                                 {"image_size", {size[0].item<std::int64_t>(), size[1].item<std::int64_t>()}}});
    request["answer_positions"].push_back(input.answer_position);
    rows.push_back(input.ids);
    longest = std::max(longest, input.ids.size());
    expected.push_back(mechanisms["answer_tokens"][image["colour"].get<std::string>()]["id"].get<std::int64_t>());
  }
  ASSERT_EQ(rows.size(), 40u);
  for (auto& ids : rows) {  // right padding, masked (all rows have the same length here)
    std::vector<int> mask(longest, 0);
    std::fill(mask.begin(), mask.begin() + static_cast<std::ptrdiff_t>(ids.size()), 1);
    ids.resize(longest, 0);
    request["ids"].push_back(ids);
    request["mask"].push_back(mask);
  }
  for (int l = 0; l < layers; ++l)
    for (int h = 0; h < heads; ++h) request["zero_heads"].push_back({{l, h}});

  const fs::path dir = fs::temp_directory_path() / ("mechlens-shapes-labels-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "request.json") << request.dump();
  const auto r = run_command("/usr/bin/python3 " MECHLENS_SOURCE_DIR "/tests/models/reference/llava_onevision_reference.py " +
                             shell_quote(kToy) + " " + shell_quote((dir / "request.json").string()) + " " +
                             shell_quote((dir / "reference.json").string()) + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json reference = read_json((dir / "reference.json").string());
  fs::remove_all(dir);

  // Accuracy: the top token over the whole vocabulary is the image's colour word.
  auto accuracy = [&](const std::string& name) {
    const auto& shape = reference[name]["shape"];  // [rows, vocab]
    const std::size_t vocab = shape[1].get<std::size_t>();
    const auto& data = reference[name]["data"];
    int right = 0;
    for (std::size_t row = 0; row < expected.size(); ++row) {
      std::size_t best = 0;
      for (std::size_t v = 1; v < vocab; ++v)
        if (data[row * vocab + v].get<double>() > data[row * vocab + best].get<double>()) best = v;
      right += static_cast<std::int64_t>(best) == expected[row];
    }
    return static_cast<double>(right) / static_cast<double>(expected.size());
  };
  EXPECT_EQ(accuracy("logits"), 1.0);

  const auto& attention = reference["image_attention"]["data"];  // [rows, layer, head]
  struct Head {
    int layer, head;
    double accuracy, recorded_accuracy, image, recorded_image;
  };
  std::vector<Head> measured;
  for (const auto& recorded : mechanisms["held_out"]["colour_heads"]) {
    const int l = recorded["layer"], h = recorded["head"];
    double image = 0;
    for (std::size_t row = 0; row < expected.size(); ++row)
      image += attention[(row * layers + l) * heads + h].get<double>() / static_cast<double>(expected.size());
    measured.push_back({l, h, accuracy("logits_zeroed_" + std::to_string(l * heads + h)),
                        recorded["accuracy_when_zeroed"].get<double>(), image,
                        recorded["last_token_attention_to_image"].get<double>()});
  }
  ASSERT_EQ(measured.size(), static_cast<std::size_t>(layers * heads));
  for (const auto& m : measured)
    std::cout << "[ shapes vlm ] layer " << m.layer << " head " << m.head << ": colour accuracy zeroed " << m.accuracy
              << " (trainer " << m.recorded_accuracy << "), last token's attention on the image " << m.image
              << " (trainer " << m.recorded_image << ")\n";

  // The colour head: zeroing it costs far more accuracy than any other head,
  // under the reference as in the trainer's measurement.
  std::sort(measured.begin(), measured.end(), [](const Head& a, const Head& b) { return a.accuracy < b.accuracy; });
  const Head& colour = measured[0];
  double recorded_lowest = 2;
  int recorded_layer = -1, recorded_head = -1;
  for (const auto& h : mechanisms["held_out"]["colour_heads"])
    if (h["accuracy_when_zeroed"].get<double>() < recorded_lowest)
      recorded_lowest = h["accuracy_when_zeroed"], recorded_layer = h["layer"], recorded_head = h["head"];
  EXPECT_EQ(colour.layer, recorded_layer);
  EXPECT_EQ(colour.head, recorded_head);
  EXPECT_LT(colour.accuracy, 0.8);
  EXPECT_GT(measured[1].accuracy, 0.95) << "no second colour head";
  // Each head's image attention, 40 images here vs the trainer's 400: the
  // per-image spread of these means is <= 0.25, so the mean of 40 is within
  // 4 standard errors (0.16) of the trainer's on a correct forward.
  for (const auto& m : measured)
    EXPECT_NEAR(m.image, m.recorded_image, 0.16) << "layer " << m.layer << " head " << m.head;
}

}  // namespace
