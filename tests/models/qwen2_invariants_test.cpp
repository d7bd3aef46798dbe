// Qwen2 decoder invariants: causality, right padding, batch independence,
// batch-1 → batch-B broadcasting through a write hook.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tiny_qwen2_support.hpp"
#include "bf16_tolerance.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

at::Tensor logits_of(const models::qwen2::Qwen2Decoder& d, const at::Tensor& ids, const at::Tensor& mask,
                     const HookSet* hooks = nullptr) {
  at::NoGradGuard no_grad;
  at::Tensor x = d.run_blocks(d.embed_tokens(ids), mask, 0, d.config().num_layers, hooks);
  return d.unembed(x, hooks);
}

TEST(Qwen2Invariants, RightPaddingAndBatchingLeaveRealPositionsUnchanged) {
  Scratch scratch;
  tiny::write_tiny_qwen2(scratch.path("ckpt"), {});
  const auto loaded = testing::load_qwen2_decoder(scratch.path("ckpt"));
  at::manual_seed(11);
  const at::Tensor a = at::randint(0, 400, {1, 7}, at::kLong), b = at::randint(0, 400, {1, 11}, at::kLong);
  const at::Tensor alone = logits_of(loaded.decoder, a, at::ones({1, 7}, at::kBool));
  // Row 0 = a padded to 11 with junk ids, row 1 = b.
  at::Tensor ids = at::randint(0, 400, {2, 11}, at::kLong), mask = at::ones({2, 11}, at::kBool);
  ids[0].narrow(0, 0, 7).copy_(a[0]);
  mask[0].narrow(0, 7, 4).fill_(false);
  ids[1].copy_(b[0]);
  const at::Tensor batched = logits_of(loaded.decoder, ids, mask);
  EXPECT_LT(testing::max_abs_diff(batched[0].narrow(0, 0, 7), alone[0]), 1e-5);
  EXPECT_LT(testing::max_abs_diff(batched[1], logits_of(loaded.decoder, b, at::ones({1, 11}, at::kBool))[0]), 1e-5);
  // Causal: a prefix's logits do not depend on what follows.
  EXPECT_LT(testing::max_abs_diff(logits_of(loaded.decoder, b.narrow(1, 0, 5), at::ones({1, 5}, at::kBool))[0],
                                  batched[1].narrow(0, 0, 5)),
            1e-5);
  // ... but later positions do depend on earlier ones.
  at::Tensor changed = b.clone();
  changed[0][0] = (b[0][0].item<std::int64_t>() + 1) % 400;
  EXPECT_GT(testing::max_abs_diff(logits_of(loaded.decoder, changed, at::ones({1, 11}, at::kBool))[0][10], batched[1][10]), 1e-4);
}

// A bad id is one error naming the id and the vocabulary, not libtorch's
// out-of-bounds index (layers::checked_embedding, shared with Phi-4-mm).
TEST(Qwen2Invariants, TokenIdOutsideTheVocabularyIsNamed) {
  Scratch scratch;
  tiny::write_tiny_qwen2(scratch.path("ckpt"), {});
  const auto loaded = testing::load_qwen2_decoder(scratch.path("ckpt"));
  const std::int64_t vocab = loaded.decoder.config().vocab_size;
  for (const std::int64_t bad : {vocab, std::int64_t{-1}}) {
    try {
      loaded.decoder.embed_tokens(at::tensor(std::vector<std::int64_t>{1, bad}, at::kLong).view({1, 2}));
      ADD_FAILURE() << "id " << bad << " accepted";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("qwen2"), std::string::npos) << what;
      EXPECT_NE(what.find("token id " + std::to_string(bad) + " outside the vocabulary of " + std::to_string(vocab)),
                std::string::npos)
          << what;
    }
  }
  EXPECT_EQ(loaded.decoder.embed_tokens(at::zeros({1, 3}, at::kLong)).size(2), loaded.decoder.config().hidden_size);
}

TEST(Qwen2Invariants, WriteHookMayBroadcastBatchOneToMany) {
  Scratch scratch;
  tiny::write_tiny_qwen2(scratch.path("ckpt"), {});
  const auto loaded = testing::load_qwen2_decoder(scratch.path("ckpt"));
  const auto& d = loaded.decoder;
  at::manual_seed(12);
  const at::Tensor ids = at::randint(0, 400, {1, 8}, at::kLong);
  const at::Tensor mask = at::ones({1, 8}, at::kBool);
  // Expand to 3 rows at layer 1's hook_z, scaling head 1 of row r by r.
  HookSet hooks;
  hooks.add_write("blocks.1.attn.hook_z", [](const std::string&, const at::Tensor& z) {
    at::Tensor out = z.expand({3, z.size(1), z.size(2), z.size(3)}).clone();
    for (int r = 0; r < 3; ++r) out[r].select(1, 1).mul_(double(r));
    return out;
  });
  const at::Tensor fanned = logits_of(d, ids, mask, &hooks);
  ASSERT_EQ(fanned.size(0), 3);
  for (int r = 0; r < 3; ++r) {
    HookSet single;
    single.add_write("blocks.1.attn.hook_z", [r](const std::string&, const at::Tensor& z) {
      at::Tensor out = z.clone();
      out[0].select(1, 1).mul_(double(r));
      return out;
    });
    EXPECT_LT(testing::max_abs_diff(fanned[r], logits_of(d, ids, mask, &single)[0]), 1e-5) << "row " << r;
  }
  EXPECT_LT(testing::max_abs_diff(fanned[1], logits_of(d, ids, mask)[0]), 1e-5);  // scale 1 = clean
  EXPECT_GT(testing::max_abs_diff(fanned[0], fanned[1]), 1e-4);
}

TEST(Qwen2Invariants, Bfloat16ForwardTracksFloat32) {
  Scratch scratch;
  tiny::write_tiny_qwen2(scratch.path("ckpt"), {});
  const auto f32 = testing::load_qwen2_decoder(scratch.path("ckpt"));
  const auto bf16 = testing::load_qwen2_decoder(scratch.path("ckpt"), at::kBFloat16);
  at::manual_seed(13);
  const at::Tensor ids = at::randint(0, 400, {1, 10}, at::kLong);
  const at::Tensor mask = at::ones({1, 10}, at::kBool);
  const at::Tensor a = logits_of(f32.decoder, ids, mask), b = logits_of(bf16.decoder, ids, mask);
  EXPECT_EQ(b.scalar_type(), at::kBFloat16);
  // Bound and top-1 agreement derived in bf16_tolerance.hpp (2 layers; the
  // weights are rounded to bf16 on load too, one more rounding per matmul,
  // within the per-layer count's margin).
  EXPECT_GT(testing::expect_bf16_tracks_f32(a, b, 2), 0);
}

}  // namespace
}  // namespace mechlens
