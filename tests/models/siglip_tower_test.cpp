// The SigLIP tower: the patch embedding (a stride-P convolution computed as a
// matmul over patches) against at::conv2d, hidden_states indexing, and the
// refusal of pixel values of the wrong size.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "checkpoint/checkpoint.hpp"
#include "models/siglip/siglip_tower.hpp"
#include "tiny_llava_support.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

TEST(SiglipTower, PatchEmbeddingEqualsConv2dAndHiddenStatesIndexLikeTransformers) {
  Scratch scratch;
  tiny::write_tiny_llava_onevision(scratch.path("ckpt"), {});
  const auto ckpt = checkpoint::Checkpoint::open(scratch.path("ckpt"));
  const auto config = models::siglip::SiglipConfig::from(ckpt.config().child("vision_config"));
  const std::string prefix = "vision_tower.vision_model.";
  const auto tower = models::siglip::SiglipTower::load(ckpt, config, config.num_layers, at::TensorOptions().dtype(at::kFloat), prefix);
  at::manual_seed(3);
  const at::Tensor pixels = at::rand({2, 3, config.image_size, config.image_size}) * 2 - 1;
  HookSet hooks;
  hooks.cache("vision.*");
  const auto states = tower.hidden_states(pixels, {0, config.num_layers, 1}, &hooks);
  ASSERT_EQ(states.size(), 3u);

  const std::int64_t D = config.hidden_size, P = config.patch_size;
  const at::Tensor weight = ckpt.load(prefix + "embeddings.patch_embedding.weight", {D, 3, P, P}, at::TensorOptions());
  const at::Tensor bias = ckpt.load(prefix + "embeddings.patch_embedding.bias", {D}, at::TensorOptions());
  const at::Tensor positions =
      ckpt.load(prefix + "embeddings.position_embedding.weight", {config.num_patches(), D}, at::TensorOptions());
  const at::Tensor conv = at::conv2d(pixels, weight, bias, {config.patch_size, config.patch_size});  // [N, D, G, G]
  const at::Tensor expected = conv.flatten(2).transpose(1, 2) + positions;
  EXPECT_LT(testing::max_abs_diff(states[0], expected), 1e-5);
  EXPECT_TRUE(at::equal(states[0], hooks.cached().at("vision.hook_embed")));
  // hidden_states[i] is the output of layer i (i >= 1).
  EXPECT_TRUE(at::equal(states[1], hooks.cached().at("vision.blocks." + std::to_string(config.num_layers - 1) + ".hook_resid_post")));
  EXPECT_TRUE(at::equal(states[2], hooks.cached().at("vision.blocks.0.hook_resid_post")));
  // Bidirectional: the pattern has mass above the diagonal.
  const at::Tensor pattern = hooks.cached().at("vision.blocks.0.attn.hook_pattern");
  EXPECT_GT(pattern.triu(1).sum().item<double>(), 1.0);

  EXPECT_THROW(tower.hidden_states(at::rand({1, 3, 20, 20}), {1}, nullptr), std::exception);
  EXPECT_THROW(tower.hidden_states(pixels, {config.num_layers + 1}, nullptr), std::exception);
}

}  // namespace
}  // namespace mechlens
