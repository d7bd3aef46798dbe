// encode() with an image, end to end on a tiny checkpoint: template,
// tokenizer, image processor, placeholder expansion, annotations, and a
// forward on the result.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include "models/registry.hpp"
#include "tiny_llava_support.hpp"
#include "vision/processor_config.hpp"
#include "vision/token_count.hpp"

namespace mechlens {
namespace {

using models::llava_onevision::LlavaOnevisionModel;
using testing::Scratch;

// A width x height PNG: a red square on a grey background.
std::string write_png(const Scratch& scratch, const std::string& name, int width, int height) {
  std::vector<unsigned char> rgb(std::size_t(width) * height * 3, 128);
  for (int y = height / 4; y < height / 2; ++y)
    for (int x = width / 4; x < width / 2; ++x) {
      unsigned char* p = &rgb[(std::size_t(y) * width + x) * 3];
      p[0] = 220, p[1] = 30, p[2] = 30;
    }
  const std::string path = scratch.path(name);
  EXPECT_NE(stbi_write_png(path.c_str(), width, height, 3, rgb.data(), width * 3), 0);
  return path;
}

TEST(LlavaOnevisionEncode, ImagePromptIsExpandedAnnotatedAndRuns) {
  Scratch scratch;
  tiny::write_tiny_llava_onevision(scratch.path("ckpt"), {});
  models::LoadOptions options;
  options.path = scratch.path("ckpt");
  const auto model = models::load("llava_onevision", options);
  const auto& llava = dynamic_cast<const LlavaOnevisionModel&>(*model);
  InputSpec spec;
  spec.id = "red";
  spec.text = "Where is the red square?";
  spec.image = write_png(scratch, "red.png", 640, 480);
  const EncodedInput in = model->encode(spec);

  const auto layout = llava.pack_layout_for(480, 640);
  EXPECT_GT(layout.tiles(), 1);  // several anyres tiles even at the tiny size
  const auto image_id = llava.config().image_token_id;
  const auto n_image = std::count(in.ids.begin(), in.ids.end(), image_id);
  EXPECT_EQ(n_image, layout.tokens());
  // The processor's own rule gives the same count.
  const auto processor = vision::LlavaOnevisionProcessorConfig::load(scratch.path("ckpt"));
  EXPECT_EQ(vision::llava_onevision_image_tokens(480, 640, processor).total, n_image);

  // Layout of the prompt: "<|im_start|>user " then the image tokens, then "\n" + text, then the tail.
  const auto& tok = llava.tokenizer();
  const std::vector<std::int64_t> head = tok.encode("<|im_start|>user ").ids;
  ASSERT_GT(in.ids.size(), head.size() + n_image);
  EXPECT_TRUE(std::equal(head.begin(), head.end(), in.ids.begin()));
  for (std::size_t i = 0; i < head.size(); ++i) EXPECT_EQ(in.annotations[i].modality, Modality::special);
  for (std::int64_t k = 0; k < n_image; ++k) {
    const auto& a = in.annotations[head.size() + k];
    ASSERT_EQ(in.ids[head.size() + k], image_id);
    EXPECT_EQ(a.modality, Modality::image);
    const int side = layout.side;
    if (k < side * side) {
      EXPECT_EQ(a.crop, 0);
      EXPECT_EQ(a.row, k / side);
      EXPECT_EQ(a.col, k % side);
    } else {
      const std::int64_t j = k - side * side;
      EXPECT_EQ(a.crop, 1);
      EXPECT_EQ(a.row, j / (layout.out_cols + 1));
      EXPECT_EQ(a.col, j % (layout.out_cols + 1));
    }
  }
  std::string text;
  for (std::size_t i = 0; i < in.ids.size(); ++i)
    if (in.annotations[i].modality == Modality::text) text += tok.decode({in.ids[i]});
  EXPECT_EQ(text, "\n" + spec.text);
  EXPECT_EQ(in.answer_position, static_cast<std::int64_t>(in.ids.size()) - 1);
  const at::Tensor& pv = in.extras.at("pixel_values");
  EXPECT_EQ(pv.sizes(), (std::vector<std::int64_t>{1 + layout.tiles(), 3, 56, 56}));
  EXPECT_EQ(in.extras.at("image_size")[0].item<std::int64_t>(), 480);
  EXPECT_EQ(in.extras.at("image_size")[1].item<std::int64_t>(), 640);

  // Forward: finite logits, the vision tower's hooks among those that fire.
  HookSet hooks;
  hooks.cache("vision.blocks.*.hook_resid_post");
  hooks.cache("hook_inputs_embeds");
  const at::Tensor logits = model->forward(model->make_batch({&in}), &hooks,
                                           at::tensor(std::vector<std::int64_t>{in.answer_position}, at::kLong));
  EXPECT_TRUE(at::isfinite(logits).all().item<bool>());
  EXPECT_EQ(hooks.cached().count("vision.blocks.0.hook_resid_post"), 1u);
  EXPECT_EQ(hooks.cached().at("vision.blocks.0.hook_resid_post").size(0), 1 + layout.tiles());

  // The same features through image_features() from the encoded pixels.
  const at::Tensor features = llava.image_features(pv, 480, 640, nullptr);
  const at::Tensor placed = hooks.cached().at("hook_inputs_embeds")[0].narrow(0, head.size(), n_image);
  EXPECT_LT(testing::max_abs_diff(features, placed), 1e-6);
}

TEST(LlavaOnevisionEncode, MismatchedProcessorConfigIsRefused) {
  Scratch scratch;
  tiny::write_tiny_llava_onevision(scratch.path("ckpt"), {});
  // preprocessor_config.json with other pinpoints than config.json.
  const std::string file = scratch.path("ckpt") + "/preprocessor_config.json";
  std::ifstream in(file);
  auto json = nlohmann::json::parse(in);
  in.close();
  json["image_grid_pinpoints"] = {{56, 56}};
  std::ofstream(file) << json.dump();
  try {
    testing::load_llava(scratch.path("ckpt"));
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("image_grid_pinpoints"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mechlens
