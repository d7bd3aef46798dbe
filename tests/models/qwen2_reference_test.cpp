// The Qwen2 decoder against an independent float64 implementation of
// Qwen2ForCausalLM (reference/qwen2_reference.py: its own safetensors reader,
// the forward pass written from modeling_qwen2.py).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tiny_qwen2_support.hpp"
#include "python_requirement.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

struct Case {
  at::Tensor ids, mask;
};

// Two rows, the second right-padded: ids drawn from the vocabulary.
Case make_case(int vocab, std::int64_t length, std::int64_t pad) {
  at::manual_seed(7);
  Case c;
  c.ids = at::randint(0, vocab, {2, length}, at::kLong);
  c.mask = at::ones({2, length}, at::kBool);
  c.mask[1].narrow(0, length - pad, pad).fill_(false);
  c.ids[1].narrow(0, length - pad, pad).fill_(0);
  return c;
}

void compare(const tiny::TinyQwen2Options& options, double tolerance) {
  MECHLENS_REQUIRE_PYTHON("torch", "numpy");
  Scratch scratch;
  tiny::write_tiny_qwen2(scratch.path("ckpt"), options);
  const auto loaded = testing::load_qwen2_decoder(scratch.path("ckpt"));
  const auto& decoder = loaded.decoder;
  const Case c = make_case(decoder.config().vocab_size, 13, 4);

  HookSet hooks;
  hooks.cache("blocks.*.hook_resid_post");
  at::Tensor x = decoder.embed_tokens(c.ids);
  x = decoder.run_blocks(x, c.mask, 0, decoder.config().num_layers, &hooks);
  const at::Tensor logits = decoder.unembed(x, &hooks);

  const auto ref = testing::run_reference("qwen2_reference.py", scratch.path("ckpt"), testing::ids_request(c.ids, c.mask), scratch);
  ASSERT_TRUE(ref.count("logits"));
  // Only real positions: padded queries are not part of HF's contract either.
  for (std::int64_t b = 0; b < 2; ++b) {
    const std::int64_t n = c.mask[b].sum().item<std::int64_t>();
    EXPECT_LT(testing::max_abs_diff(logits[b].narrow(0, 0, n), ref.at("logits")[b].narrow(0, 0, n)), tolerance) << "row " << b;
    for (int l = 0; l < decoder.config().num_layers; ++l) {
      const at::Tensor mine = hooks.cached().at("blocks." + std::to_string(l) + ".hook_resid_post")[b].narrow(0, 0, n);
      EXPECT_LT(testing::max_abs_diff(mine, ref.at("resid_post_" + std::to_string(l))[b].narrow(0, 0, n)), tolerance)
          << "layer " << l << " row " << b;
    }
  }
  // The logits are not trivially small: a wrong rotary or GQA mapping would show.
  EXPECT_GT(ref.at("logits").abs().max().item<double>(), 0.5);
}

TEST(Qwen2Reference, TiedHeadMatchesFloat64Reference) {
  tiny::TinyQwen2Options o;
  o.layers = 3;
  compare(o, 1e-4);
}

TEST(Qwen2Reference, UntiedHeadAndOneKvHeadMatch) {
  tiny::TinyQwen2Options o;
  o.tie_word_embeddings = false;
  o.heads = 4;
  o.kv_heads = 1;
  o.rope_theta = 10000.0;
  o.seed = 3;
  compare(o, 1e-4);
}

TEST(Qwen2Reference, WithoutGroupingMatches) {
  tiny::TinyQwen2Options o;
  o.heads = 4;
  o.kv_heads = 4;
  o.seed = 5;
  compare(o, 1e-4);
}

}  // namespace
}  // namespace mechlens
