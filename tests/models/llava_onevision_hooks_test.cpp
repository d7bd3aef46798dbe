// Every hook point the LLaVA-OneVision adapter names fires on a forward with
// an image, with the documented shapes; bf16 weights track float32.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>

#include "hook_axes.hpp"
#include "tiny_llava_support.hpp"
#include "bf16_tolerance.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

TEST(LlavaOnevisionHooks, EveryNamedHookFiresWithItsShape) {
  Scratch scratch;
  tiny::write_tiny_llava_onevision(scratch.path("ckpt"), {});
  const auto model = testing::load_llava(scratch.path("ckpt"));
  const EncodedInput input = testing::image_input(*model, 480, 640, {10, 20}, {30, 40}, 5);
  const Batch batch = model->make_batch({&input});
  std::set<std::string> fired;
  std::map<std::string, std::vector<std::int64_t>> shapes;
  HookSet hooks;
  hooks.add_read("*", [&](const std::string& name, const at::Tensor& value) {
    fired.insert(name);
    shapes[name] = value.sizes().vec();
  });
  const at::Tensor logits = model->forward(batch, &hooks);
  EXPECT_TRUE(at::isfinite(logits).all().item<bool>());
  const auto names = model->hook_names();
  for (const auto& name : names) EXPECT_TRUE(fired.count(name)) << name << " never fired";
  for (const auto& name : fired) EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name << " is not listed";

  const Geometry g = model->geometry();
  const std::int64_t T = input.ids.size(), crops = input.extras.at("pixel_values").size(0);
  const int Dv = model->config().vision.hidden_size, P = model->config().vision.num_patches();
  EXPECT_EQ(shapes["hook_inputs_embeds"], (std::vector<std::int64_t>{1, T, g.d_model}));
  EXPECT_EQ(shapes["blocks.0.attn.hook_k"], (std::vector<std::int64_t>{1, T, g.n_kv_heads, g.d_head}));
  EXPECT_EQ(shapes["blocks.0.attn.hook_pattern"], (std::vector<std::int64_t>{1, g.n_heads, T, T}));
  EXPECT_EQ(shapes["vision.blocks.0.hook_resid_pre"], (std::vector<std::int64_t>{crops, P, Dv}));
  EXPECT_EQ(shapes["vision.hook_projected"], (std::vector<std::int64_t>{crops, P, g.d_model}));
  EXPECT_TRUE(std::any_of(names.begin(), names.end(), [](const std::string& n) { return n.rfind("vision.blocks.", 0) == 0; }));
}

// The axes each hook point declares are those of its tensor: the language
// model's over the batch and positions, the tower's over every crop's patches.
TEST(LlavaOnevisionHooks, DeclaredAxesMatchEveryHookTensor) {
  Scratch scratch;
  tiny::write_tiny_llava_onevision(scratch.path("ckpt"), {});
  const auto model = testing::load_llava(scratch.path("ckpt"));
  const EncodedInput input = testing::image_input(*model, 480, 640, {10, 20}, {30, 40}, 5);
  const Geometry g = model->geometry();
  const auto& v = model->config().vision;
  const std::int64_t T = input.ids.size(), crops = input.extras.at("pixel_values").size(0);
  const std::int64_t select_default = model->config().select_strategy == "default" ? 1 : 0;
  testing::expect_hook_axes_match(
      *model, model->make_batch({&input}),
      {{"batch", 1}, {"pos", T}, {"q_pos", T}, {"k_pos", T}, {"d_model", g.d_model}, {"head", g.n_heads},
       {"kv_head", g.n_kv_heads}, {"d_head", g.d_head}, {"crop", crops}, {"patch", v.num_patches()},
       {"q_patch", v.num_patches()}, {"k_patch", v.num_patches()}, {"d_vision", v.hidden_size},
       {"vision_head", v.num_heads}, {"vision_d_head", v.hidden_size / v.num_heads},
       {"feature_patch", v.num_patches() - select_default},
       {"d_vision_features", v.hidden_size * static_cast<std::int64_t>(model->config().feature_layers.size())}});
}

TEST(LlavaOnevisionHooks, ImageFeaturesReachOnlyImagePositionsAndMatter) {
  Scratch scratch;
  tiny::write_tiny_llava_onevision(scratch.path("ckpt"), {});
  const auto model = testing::load_llava(scratch.path("ckpt"));
  EncodedInput a = testing::image_input(*model, 60, 100, {10, 20}, {30, 40}, 5);
  EncodedInput b = a;
  b.extras["pixel_values"] = a.extras["pixel_values"].flip(3);  // same layout, other pixels
  HookSet hooks;
  hooks.cache("hook_embed");
  hooks.cache("hook_inputs_embeds");
  const at::Tensor la = model->forward(model->make_batch({&a}), &hooks);
  const at::Tensor embed = hooks.cached().at("hook_embed"), inputs = hooks.cached().at("hook_inputs_embeds");
  const at::Tensor is_image = model->make_batch({&a}).ids.eq(model->config().image_token_id)[0];
  // Text positions keep their token embedding; image positions are replaced.
  EXPECT_TRUE(at::equal(inputs[0].index({is_image.logical_not()}), embed[0].index({is_image.logical_not()})));
  EXPECT_GT((inputs[0].index({is_image}) - embed[0].index({is_image})).abs().min().item<double>(), 0.0);
  const at::Tensor lb = model->forward(model->make_batch({&b}), nullptr);
  EXPECT_GT(testing::max_abs_diff(la[0][-1], lb[0][-1]), 1e-4);
  // A wrong placeholder count is refused, naming the input.
  EncodedInput short_input = a;
  short_input.ids.erase(short_input.ids.begin() + 3);
  try {
    model->forward(model->make_batch({&short_input}), nullptr);
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("do not match"), std::string::npos) << e.what();
  }
}

TEST(LlavaOnevisionHooks, Bfloat16TracksFloat32AndTiedHeadIsNotCopied) {
  Scratch scratch;
  tiny::TinyLlavaOptions o;
  o.dtype = o.text.dtype = "bfloat16";
  tiny::write_tiny_llava_onevision(scratch.path("ckpt"), o);
  const auto f32 = testing::load_llava(scratch.path("ckpt"), "float32");
  const auto bf16 = testing::load_llava(scratch.path("ckpt"), "bfloat16");
  const EncodedInput input = testing::image_input(*f32, 480, 640, {10, 20}, {30, 40}, 6);
  const at::Tensor a = f32->forward(f32->make_batch({&input}), nullptr);
  const at::Tensor b = bf16->forward(bf16->make_batch({&input}), nullptr);
  EXPECT_EQ(b.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::isfinite(b.to(at::kFloat)).all().item<bool>());
  // Bound and top-1 agreement derived in bf16_tolerance.hpp: the deepest path
  // runs through the 3 tower layers, the projector and the 2 decoder layers.
  EXPECT_GT(testing::expect_bf16_tracks_f32(a, b, o.vision_layers + o.text.layers), 0);
  // The tied head is the embedding matrix itself, not a second copy.
  const auto& w = bf16->decoder().weights();
  EXPECT_TRUE(w.tied);
  EXPECT_EQ(w.lm_head.weight.data_ptr(), w.embed_tokens.data_ptr());
}

}  // namespace
}  // namespace mechlens
