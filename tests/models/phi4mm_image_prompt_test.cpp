// The image path wired through the phi4mm adapter: <|image_1|> expanded
// right after <|user|> to the HD transform's exact token count, annotated
// like the grid, and the image encoder's rows placed at exactly those
// positions of hook_inputs_embeds (the text rows untouched).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "mechlens/error.hpp"
#include "phi4mm_support.hpp"
#include "python_requirement.hpp"
#include "tiny_qwen2_support.hpp"  // run_reference, ids_request
#include "vision/image.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

std::string fixture(const std::string& name) { return std::string(MECHLENS_TEST_DATA) + "/vision/fixtures/" + name; }

InputSpec text_spec(const std::string& id, const std::string& text) {
  InputSpec spec;
  spec.id = id;
  spec.text = text;
  return spec;
}

TEST(Phi4mmImagePrompt, ImageTokensExpandAnnotateAndCarryTheEncoderRows) {
  Scratch scratch;
  for (const bool native : {false, true}) {
    tiny::TinyPhi4mmOptions o;
    o.native_layout = native;
    const auto model = testing::tiny_phi4mm(scratch, native ? "native" : "remote", o);
    ASSERT_NE(model->image_encoder(), nullptr);
    InputSpec spec;
    spec.id = "img";
    spec.text = "What is this?";
    spec.image = fixture("w61h45.png");
    const EncodedInput in = model->encode(spec);
    const EncodedInput text_only = model->encode(text_spec("t", "What is this?"));

    // 61 x 45 at crop 112: one crop, 30 px of white below -> 3 of 4 token rows:
    // 16 + 1 + 3 * 4 + 3 + 4 = 36 image tokens after <|user|>.
    const auto& cfg = model->image_encoder()->config();
    const auto g = models::phi4mm::hd_geometry(61, 45, cfg.hd);
    ASSERT_EQ(g.tokens(), 36);
    ASSERT_EQ(in.ids.size(), text_only.ids.size() + 36);
    EXPECT_EQ(in.ids[0], text_only.ids[0]);  // <|user|>
    for (std::size_t i = 1; i <= 36; ++i) EXPECT_EQ(in.ids[i], model->chat_tokens().image) << i;
    for (std::size_t i = 37; i < in.ids.size(); ++i) EXPECT_EQ(in.ids[i], text_only.ids[i - 36]) << i;
    EXPECT_EQ(in.answer_position, static_cast<std::int64_t>(in.ids.size()) - 1);
    const auto expected = models::phi4mm::hd_annotations(g, cfg.hd);
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const TokenAnnotation& a = in.annotations[1 + i];
      EXPECT_EQ(a.modality, Modality::image);
      EXPECT_EQ(a.crop, expected[i].crop);
      EXPECT_EQ(a.row, expected[i].row);
      EXPECT_EQ(a.col, expected[i].col);
      EXPECT_EQ(a.separator, expected[i].separator);
    }
    EXPECT_EQ(in.annotations[37].modality, Modality::text);

    const Batch batch = model->make_batch({&in});
    HookSet hooks;
    hooks.cache("hook_embed");
    hooks.cache("hook_inputs_embeds");
    hooks.cache("vision.hook_projected");
    const at::Tensor logits = model->forward(batch, &hooks);
    EXPECT_TRUE(logits.isfinite().all().item<bool>());
    const at::Tensor rows = model->image_encoder()->encode_image(vision::decode_image(spec.image.value()), nullptr, nullptr);
    const at::Tensor placed = hooks.cached().at("hook_inputs_embeds")[0];
    EXPECT_LT(testing::max_abs_diff(placed.narrow(0, 1, 36), rows), 1e-6);
    EXPECT_LT(testing::max_abs_diff(hooks.cached().at("vision.hook_projected"), rows), 1e-6);
    const auto n = static_cast<std::int64_t>(in.ids.size());
    EXPECT_TRUE(at::equal(placed.narrow(0, 37, n - 37), hooks.cached().at("hook_embed")[0].narrow(0, 37, n - 37)));
    EXPECT_TRUE(at::equal(placed[0], hooks.cached().at("hook_embed")[0][0]));
  }
}

// The whole forward with an image against the float64 references
// (phi4mm_reference.py's decoder with phi4mm_vision_reference.py's
// preprocessing and encoder, the vision LoRA on): 61 x 45 at crop 56 is
// 2 x 1 crops with 37 px of white on the right (15 image tokens), beside a
// text-only row in one batch.
void compare_whole_forward(bool native, std::uint64_t seed) {
  MECHLENS_REQUIRE_PYTHON("torch", "numpy", "PIL");
  Scratch scratch;
  tiny::TinyPhi4mmOptions o;
  o.native_layout = native;
  o.seed = seed;
  o.vision.crop_size = 56;
  const auto model = testing::tiny_phi4mm(scratch, "ckpt", o);
  InputSpec with_image;
  with_image.id = "img";
  with_image.text = "What is in the picture?";
  with_image.image = fixture("w61h45.png");
  const EncodedInput a = model->encode(with_image);
  EXPECT_EQ(std::count(a.ids.begin(), a.ids.end(), model->chat_tokens().image), 15);
  const EncodedInput b = model->encode(text_spec("txt", "Name three colours."));
  const Batch batch = model->make_batch({&a, &b});
  HookSet hooks;
  hooks.cache("hook_inputs_embeds");
  const at::Tensor logits = model->forward(batch, &hooks);

  nlohmann::json request = testing::ids_request(batch.ids, batch.attention_mask);
  request["lora"] = {true, false};
  request["images"] = {with_image.image.value(), nullptr};
  const auto ref = testing::run_reference("phi4mm_reference.py", scratch.path("ckpt"), request, scratch);
  ASSERT_TRUE(ref.count("logits") && ref.count("inputs_embeds"));
  for (std::int64_t r = 0; r < 2; ++r) {
    const std::int64_t n = batch.attention_mask[r].sum().item<std::int64_t>();
    EXPECT_LT(testing::max_abs_diff(hooks.cached().at("hook_inputs_embeds")[r].narrow(0, 0, n),
                                    ref.at("inputs_embeds")[r].narrow(0, 0, n)),
              1e-4)
        << "row " << r;
    EXPECT_LT(testing::max_abs_diff(logits[r].narrow(0, 0, n), ref.at("logits")[r].narrow(0, 0, n)), 1e-4) << "row " << r;
  }
  EXPECT_GT(ref.at("logits").abs().max().item<double>(), 0.5);
}

TEST(Phi4mmImagePrompt, WholeForwardWithAnImageMatchesFloat64ReferenceRemoteLayout) { compare_whole_forward(false, 3); }

TEST(Phi4mmImagePrompt, WholeForwardWithAnImageMatchesFloat64ReferenceNativeLayout) { compare_whole_forward(true, 5); }

TEST(Phi4mmImagePrompt, CheckpointWithoutImageEncoderRefusesImagesByName) {
  Scratch scratch;
  tiny::TinyPhi4mmOptions o;
  o.with_vision = false;
  const auto model = testing::tiny_phi4mm(scratch, "novision", o);
  EXPECT_EQ(model->image_encoder(), nullptr);
  InputSpec spec;
  spec.id = "img";
  spec.text = "What is this?";
  spec.image = fixture("w61h45.png");
  try {
    model->encode(spec);
    FAIL() << "an image was encoded without an image encoder";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no image encoder"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mechlens
