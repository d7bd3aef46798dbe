// The phi4mm decoder against an independent float64 implementation
// (reference/phi4mm_reference.py: its own safetensors reader and forward
// written from modeling_phi4mm.py), both layouts, the vision LoRA on some
// rows, padding, and sequences below and above the original context
// (LongRoPE's short and long factors).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "phi4mm_support.hpp"
#include "python_requirement.hpp"
#include "tiny_qwen2_support.hpp"  // run_reference, ids_request

namespace mechlens {
namespace {

using testing::Scratch;

void compare(const tiny::TinyPhi4mmOptions& options, std::int64_t length, const std::vector<bool>& lora) {
  MECHLENS_REQUIRE_PYTHON("torch", "numpy");
  Scratch scratch;
  const auto m = testing::tiny_phi4mm(scratch, "ckpt", options);
  const std::int64_t rows = static_cast<std::int64_t>(lora.size());
  at::manual_seed(11);
  const at::Tensor ids = at::randint(0, m->chat_tokens().user - 20, {rows, length}, at::kLong);
  at::Tensor mask = at::ones({rows, length}, at::kBool);
  mask[rows - 1].narrow(0, length - 3, 3).fill_(false);
  auto b = testing::phi_batch(ids, mask, lora);
  HookSet hooks;
  hooks.cache("blocks.*.hook_resid_post");
  const at::Tensor logits = m->forward(b.batch, &hooks);

  nlohmann::json request = testing::ids_request(ids, mask);
  request["lora"] = lora;
  const auto ref = testing::run_reference("phi4mm_reference.py", scratch.path("ckpt"), request, scratch);
  ASSERT_TRUE(ref.count("logits"));
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t n = mask[r].sum().item<std::int64_t>();
    EXPECT_LT(testing::max_abs_diff(logits[r].narrow(0, 0, n), ref.at("logits")[r].narrow(0, 0, n)), 1e-4) << "row " << r;
    for (int l = 0; l < m->geometry().n_layers; ++l)
      EXPECT_LT(testing::max_abs_diff(hooks.cached().at("blocks." + std::to_string(l) + ".hook_resid_post")[r].narrow(0, 0, n),
                                      ref.at("resid_post_" + std::to_string(l))[r].narrow(0, 0, n)),
                1e-4)
          << "layer " << l << " row " << r;
  }
  EXPECT_GT(ref.at("logits").abs().max().item<double>(), 0.5);
}

TEST(Phi4mmReference, RemoteLayoutShortSequenceWithAndWithoutLora) {
  compare({}, 12, {true, false});
}

TEST(Phi4mmReference, NativeShardedLayoutAboveTheOriginalContext) {
  tiny::TinyPhi4mmOptions o;
  o.native_layout = true;
  o.shards = 2;
  o.seed = 4;
  compare(o, 40, {false, true});  // 40 > original_max_position_embeddings 32: long factors
}

TEST(Phi4mmReference, ThreeLayersFourQueryHeadsPerKvHead) {
  tiny::TinyPhi4mmOptions o;
  o.layers = 3;
  o.heads = 8;
  o.kv_heads = 2;
  o.seed = 9;
  compare(o, 20, {true, true});
}

}  // namespace
}  // namespace mechlens
