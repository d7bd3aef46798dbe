// Phi-4-mm's image encoder (models/phi4mm/phi4mm_image_encoder) on tiny
// random checkpoints of both weight layouts against the float64 Python
// transcription of modeling_phi4mm.py / vision_siglip_navit.py
// (reference/phi4mm_vision_reference.py): NaViT position ids and key-masked
// attention on padded crops, hidden_states[-2], 2x2 pooling, sub_glb
// assembly with the learned separators, the projection MLP.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "checkpoint/checkpoint.hpp"
#include "mechlens/error.hpp"
#include "models/phi4mm/phi4mm_image_encoder.hpp"
#include "python_requirement.hpp"
#include "tiny_phi4mm_vision.hpp"
#include "tiny_qwen2_support.hpp"  // Scratch, run_reference, max_abs_diff
#include "vision/image.hpp"

namespace mechlens {
namespace {

using models::phi4mm::Phi4mmImageConfig;
using models::phi4mm::Phi4mmImageEncoder;
using testing::Scratch;

constexpr std::int64_t kDModel = 24;

// A checkpoint holding only the image encoder (and the config keys it reads).
void write_vision_checkpoint(const std::string& dir, const tiny::TinyPhi4mmVisionOptions& o, bool native, std::uint64_t seed) {
  tiny::TensorWriter w(seed, "float32");
  tiny::add_tiny_phi4mm_vision_tensors(w, o, kDModel, native);
  w.write(dir);
  nlohmann::json config = tiny::tiny_phi4mm_vision_config(o);
  config["model_type"] = native ? "phi4_multimodal" : "phi4mm";
  config["hidden_size"] = kDModel;
  tiny::write_text_file(dir + "/config.json", config.dump(2));
  tiny::write_text_file(dir + "/preprocessor_config.json", tiny::tiny_phi4mm_preprocessor_config(o, native).dump(2));
}

struct Loaded {
  checkpoint::Checkpoint ckpt;
  Phi4mmImageConfig config;
  Phi4mmImageEncoder encoder;
};

Loaded load(const std::string& dir) {
  Loaded l;
  l.ckpt = checkpoint::Checkpoint::open(dir);
  l.config = Phi4mmImageConfig::from(l.ckpt.config(), dir);
  const auto tensors = models::phi4mm::image_encoder_table(l.config).resolve(l.ckpt);
  l.encoder = Phi4mmImageEncoder::load(tensors, l.config, at::TensorOptions().dtype(at::kFloat));
  return l;
}

vision::RgbImage random_image(int width, int height, std::uint64_t seed) {
  vision::RgbImage image(height, width);
  std::uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (auto& p : image.pixels) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    p = static_cast<std::uint8_t>(s >> 56);
  }
  return image;
}

nlohmann::json pixels_request(const models::phi4mm::HdImage& hd, int crop_size) {
  const at::Tensor pv = hd.pixel_values.to(at::kDouble).contiguous();
  const at::Tensor mask = hd.patch_mask.to(at::kDouble).contiguous();
  return {{"pixel_values", std::vector<double>(pv.data_ptr<double>(), pv.data_ptr<double>() + pv.numel())},
          {"shape", pv.sizes().vec()},
          {"patch_mask", std::vector<double>(mask.data_ptr<double>(), mask.data_ptr<double>() + mask.numel())},
          {"image_size", {hd.geometry.canvas_h(crop_size), hd.geometry.canvas_w(crop_size)}}};
}

void compare_with_reference(bool native, int width, int height, std::uint64_t seed) {
  MECHLENS_REQUIRE_PYTHON("torch", "numpy");
  Scratch scratch;
  const std::string dir = scratch.path("ckpt");
  std::filesystem::create_directories(dir);
  write_vision_checkpoint(dir, {}, native, seed);
  const Loaded l = load(dir);
  EXPECT_EQ(l.encoder.layout_name().rfind(native ? "native" : "remote", 0), 0u) << l.encoder.layout_name();

  const auto prepared = models::phi4mm::prepare_image(random_image(width, height, seed), l.config);
  HookSet hooks;
  hooks.cache("vision.hook_features");
  const at::Tensor rows = l.encoder.features(prepared.pixels.pixel_values, prepared.pixels.patch_mask,
                                             prepared.pixels.geometry, &hooks);
  ASSERT_EQ(rows.size(0), prepared.tokens());
  ASSERT_EQ(rows.size(1), kDModel);
  ASSERT_EQ(static_cast<std::int64_t>(prepared.annotations.size()), prepared.tokens());

  const auto ref = testing::run_reference("phi4mm_vision_reference.py encode", dir,
                                          pixels_request(prepared.pixels, l.config.hd.crop_size), scratch);
  ASSERT_EQ(ref.at("image_embeds").sizes(), rows.sizes());
  EXPECT_LT(testing::max_abs_diff(hooks.cached().at("vision.hook_features"), ref.at("features")), 1e-4);
  EXPECT_LT(testing::max_abs_diff(rows, ref.at("image_embeds")), 1e-4);
  EXPECT_GT(ref.at("image_embeds").abs().max().item<double>(), 0.1);
}

TEST(Phi4mmImageEncoder, RemoteLayoutPaddedCropsMatchFloat64Reference) {
  // 300 x 170 at crop 112: 3 x 2 crops, 34 px of white below (2 patch rows
  // masked: NaViT positions over 6 rows, keys masked), 7 of 8 token rows kept.
  compare_with_reference(/*native=*/false, 300, 170, 3);
}

TEST(Phi4mmImageEncoder, NativeLayoutOddMaskedRowMatchesFloat64Reference) {
  // 300 x 180: 23 px below, 1 patch row masked, so the last kept token row
  // pools a real and a padded patch row.
  compare_with_reference(/*native=*/true, 300, 180, 4);
}

TEST(Phi4mmImageEncoder, RealCropGeometryFromTheImageFileMatchesReference) {
  // Crop 448 / patch 14 (the real 32 x 32 patches, 16 x 16 tokens) with a
  // tiny tower; the reference preprocesses the PNG itself (PIL), so this is
  // the whole path: 640 x 480 -> 2 x 2 crops, 224 px of white below.
  MECHLENS_REQUIRE_PYTHON("torch", "numpy", "PIL");
  Scratch scratch;
  const std::string dir = scratch.path("ckpt");
  std::filesystem::create_directories(dir);
  tiny::TinyPhi4mmVisionOptions o;
  o.crop_size = 448;
  o.layers = 2;
  write_vision_checkpoint(dir, o, false, 7);
  const Loaded l = load(dir);
  const std::string image = std::string(MECHLENS_TEST_DATA) + "/vision/fixtures/w640h480.png";
  std::vector<TokenAnnotation> annotations;
  const at::Tensor rows = l.encoder.encode_image(vision::decode_image(image), &annotations, nullptr);
  EXPECT_EQ(rows.size(0), 256 + 1 + 24 * 32 + 24 + 16);
  EXPECT_EQ(static_cast<std::int64_t>(annotations.size()), rows.size(0));
  const auto ref = testing::run_reference("phi4mm_vision_reference.py encode", dir, {{"image", image}}, scratch);
  ASSERT_EQ(ref.at("image_embeds").sizes(), rows.sizes());
  EXPECT_LT(testing::max_abs_diff(rows, ref.at("image_embeds")), 1e-4);
}

TEST(Phi4mmImageEncoder, NavitPositionIdsSpreadRealPatchesOverTheTable) {
  // A crop of 32 x 32 patches whose last 8 columns and 16 rows are padding:
  // 16 real rows take every other table row, 24 real columns buckets of 4/3.
  at::Tensor mask = at::zeros({2, 32, 32}, at::kBool);
  mask[0].fill_(true);
  mask[1].narrow(0, 0, 16).narrow(1, 0, 24).fill_(true);
  const at::Tensor ids = models::phi4mm::navit_position_ids(mask);
  EXPECT_TRUE(at::equal(ids[0], at::arange(1024, at::kLong)));
  const at::Tensor second = ids[1].view({32, 32});
  EXPECT_EQ(second[1][0].item<std::int64_t>(), 2 * 32);       // row 1 -> table row 2
  EXPECT_EQ(second[15][0].item<std::int64_t>(), 30 * 32);     // row 15 -> table row 30
  EXPECT_EQ(second[0][3].item<std::int64_t>(), 4);            // column 3 -> floor(3 * 32 / 24) = 4
  EXPECT_EQ(second[0][23].item<std::int64_t>(), 30);          // column 23 -> floor(23 * 4 / 3) = 30
  EXPECT_EQ(second[20][30].item<std::int64_t>(), 0);          // padding -> 0
}

TEST(Phi4mmImageEncoder, TableNamesEveryMissingTensor) {
  Scratch scratch;
  const std::string dir = scratch.path("ckpt");
  std::filesystem::create_directories(dir);
  tiny::TinyPhi4mmVisionOptions o;
  o.layers = 1;  // feature_layer -2 of a 3-layer config needs 2 layers
  tiny::TensorWriter w(1, "float32");
  tiny::add_tiny_phi4mm_vision_tensors(w, o, kDModel, false);
  w.write(dir);
  nlohmann::json config = tiny::tiny_phi4mm_vision_config({});  // says 3 layers
  config["model_type"] = "phi4mm";
  config["hidden_size"] = kDModel;
  tiny::write_text_file(dir + "/config.json", config.dump(2));
  try {
    load(dir);
    FAIL() << "a tower with too few layers loaded";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("encoder.layers.1.self_attn.q_proj.weight"), std::string::npos) << what;
    EXPECT_NE(what.find("encoder.layers.1.mlp.fc2.bias"), std::string::npos) << what;
  }
}

TEST(Phi4mmImageEncoder, ConfigWithoutVisionSizesIsSiglipSo400mAt448) {
  const checkpoint::Config config(
      {{"hidden_size", 3072},
       {"embd_layer",
        {{"image_embd_layer",
          {{"crop_size", 448}, {"hd_transform_order", "sub_glb"}, {"image_token_compression_cls", "avg_pool_2d"},
           {"projection_cls", "mlp"}, {"use_hd_transform", true}, {"with_learnable_separator", true}}}}}},
      "config.json");
  const Phi4mmImageConfig c = Phi4mmImageConfig::from(config, "/nonexistent");
  EXPECT_EQ(c.tower.hidden_size, 1152);
  EXPECT_EQ(c.tower.num_layers, 27);
  EXPECT_EQ(c.hidden_index(), 26);  // hidden_states[-2]
  EXPECT_EQ(c.hd.crop_size, 448);
  EXPECT_EQ(c.hd.dynamic_hd, 36);
  EXPECT_EQ(c.image_token_id, 200010);
  nlohmann::json glb_sub = config.json();
  glb_sub["embd_layer"]["image_embd_layer"]["hd_transform_order"] = "glb_sub";
  EXPECT_THROW(Phi4mmImageConfig::from(checkpoint::Config(glb_sub, "config.json"), "/nonexistent"), Error);
}

}  // namespace
}  // namespace mechlens
