// Loading tiny Phi-4-mm checkpoints of both layouts: the fused qkv and
// gate_up splits, the vision LoRA (runtime = merged, on only for rows with an
// image), provenance, the chat format, and refused inputs.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "mechlens/error.hpp"
#include "models/layers/activations.hpp"
#include "phi4mm_support.hpp"

namespace mechlens {
namespace {

using models::phi4mm::Layout;
using models::phi4mm::LoraMode;
using testing::Scratch;

at::Tensor ids_for(const models::phi4mm::Phi4mmModel& m, std::int64_t rows, std::int64_t length, int seed) {
  at::manual_seed(seed);
  // Text ids only (below the added tokens, so no image token).
  return at::randint(0, static_cast<std::int64_t>(m.chat_tokens().user) - 20, {rows, length}, at::kLong);
}

at::Tensor logits_of(const models::phi4mm::Phi4mmModel& m, const Batch& batch, HookSet* hooks = nullptr) {
  return m.forward(batch, hooks);
}

TEST(Phi4mmLoad, BothLayoutsLoadAndSayWhichInTheProvenance) {
  Scratch scratch;
  tiny::TinyPhi4mmOptions remote, native;
  native.native_layout = true;
  native.shards = 3;
  const auto a = testing::tiny_phi4mm(scratch, "remote", remote);
  const auto b = testing::tiny_phi4mm(scratch, "native", native, LoraMode::merged);
  EXPECT_EQ(a->layout(), Layout::remote_code);
  EXPECT_EQ(b->layout(), Layout::native);
  EXPECT_EQ(a->identity().format, "hf-phi4mm/remote-code/lora-runtime");
  EXPECT_EQ(b->identity().format, "hf-phi4mm/native/lora-merged");
  EXPECT_EQ(b->identity().files.size(), 4u);  // three shards + vision-lora/adapter_model.safetensors
  EXPECT_EQ(a->decoder().weights().lora_source, "config.json vision_lora");
  EXPECT_EQ(b->decoder().weights().lora_source, "vision-lora/adapter_config.json");
  EXPECT_DOUBLE_EQ(a->decoder().weights().layers[0].qkv_proj.scale, 2.0);
  const Geometry g = a->geometry();
  EXPECT_EQ(g.n_heads, 4);
  EXPECT_EQ(g.n_kv_heads, 2);
  EXPECT_EQ(g.d_head, 16);
  EXPECT_EQ(a->decoder().config().rotary_dim, 12);
  EXPECT_TRUE(std::filesystem::exists(scratch.path("native") + "/model.safetensors.index.json"));
  // Tied head: no lm_head in the file, the embeddings' storage is the head's.
  EXPECT_EQ(a->decoder().weights().lm_head.data_ptr(), a->decoder().weights().embed_tokens.data_ptr());
}

TEST(Phi4mmLoad, AutoDetectsBothModelTypesAndReadsTheLoraOption) {
  Scratch scratch;
  tiny::TinyPhi4mmOptions native;
  native.native_layout = true;
  native.with_vision = false;
  tiny::write_tiny_phi4mm(scratch.path("native"), native);
  tiny::write_tiny_phi4mm(scratch.path("remote"), {});
  for (const char* name : {"native", "remote"}) {
    models::LoadOptions load;
    load.path = scratch.path(name);
    load.lora = "merged";
    const auto m = models::load("auto", load);
    EXPECT_EQ(m->family(), "phi4mm") << name;
    EXPECT_NE(m->identity().format.find("lora-merged"), std::string::npos) << m->identity().format;
  }
  models::LoadOptions bad;
  bad.path = scratch.path("remote");
  bad.lora = "fused";
  EXPECT_THROW(models::load("phi4mm", bad), Error);
}

TEST(Phi4mmLoad, FusedQkvSplitsIntoQThenKThenVWithKvHeads) {
  Scratch scratch;
  const auto m = testing::tiny_phi4mm(scratch, "remote");
  const at::Tensor ids = ids_for(*m, 1, 7, 1);
  auto b = testing::phi_batch(ids, at::ones({1, 7}, at::kBool), {false});
  HookSet hooks;
  hooks.cache("blocks.0.hook_resid_pre");
  hooks.cache("blocks.0.attn.hook_*");
  hooks.cache("blocks.0.hook_mlp_out");
  hooks.cache("blocks.0.hook_attn_out");
  hooks.cache("blocks.0.hook_resid_pre");
  logits_of(*m, b.batch, &hooks);
  const auto& w = m->decoder().weights().layers[0];
  const at::Tensor x = hooks.cached().at("blocks.0.hook_resid_pre");
  const at::Tensor h = w.input_layernorm(x);
  const at::Tensor W = w.qkv_proj.base.weight;  // [64 + 2 * 32, 64]
  ASSERT_EQ(W.size(0), 128);
  const at::Tensor q = at::linear(h, W.narrow(0, 0, 64)).view({1, 7, 4, 16});
  const at::Tensor k = at::linear(h, W.narrow(0, 64, 32)).view({1, 7, 2, 16});
  const at::Tensor v = at::linear(h, W.narrow(0, 96, 32)).view({1, 7, 2, 16});
  EXPECT_LT(testing::max_abs_diff(hooks.cached().at("blocks.0.attn.hook_q"), q), 1e-5);
  EXPECT_LT(testing::max_abs_diff(hooks.cached().at("blocks.0.attn.hook_k"), k), 1e-5);
  EXPECT_LT(testing::max_abs_diff(hooks.cached().at("blocks.0.attn.hook_v"), v), 1e-5);
  // Rotary touches only the first 12 of 16 dims.
  EXPECT_TRUE(at::allclose(hooks.cached().at("blocks.0.attn.hook_rot_q").narrow(-1, 12, 4), q.narrow(-1, 12, 4)));
  EXPECT_FALSE(at::allclose(hooks.cached().at("blocks.0.attn.hook_rot_q").narrow(-1, 0, 12), q.narrow(-1, 0, 12)));
  // gate_up: gate rows first, down(silu(gate) * up).
  const at::Tensor x2 = x + hooks.cached().at("blocks.0.hook_attn_out");
  const at::Tensor gu = w.gate_up_proj.base.weight;  // [2 * 96, 64]
  const at::Tensor h2 = w.post_attention_layernorm(x2);
  const at::Tensor mlp = at::linear(at::silu(at::linear(h2, gu.narrow(0, 0, 96))) * at::linear(h2, gu.narrow(0, 96, 96)),
                                    w.down_proj.base.weight);
  EXPECT_LT(testing::max_abs_diff(hooks.cached().at("blocks.0.hook_mlp_out"), mlp), 1e-5);
}

TEST(Phi4mmLoad, LoraOffWithoutAnImageAndOnWithOne) {
  Scratch scratch;
  const auto m = testing::tiny_phi4mm(scratch, "remote");
  const at::Tensor ids = ids_for(*m, 1, 9, 2);
  const at::Tensor mask = at::ones({1, 9}, at::kBool);
  auto text = testing::phi_batch(ids, mask, {false});
  auto image = testing::phi_batch(ids, mask, {true});
  const at::Tensor plain = logits_of(*m, text.batch), lora = logits_of(*m, image.batch);
  EXPECT_GT(testing::max_abs_diff(plain, lora), 1e-2) << "the vision LoRA changed nothing";
  // Text-only = the base weights alone: the same numbers as a checkpoint without LoRA tensors.
  const auto& w = m->decoder().weights().layers[0].qkv_proj;
  const at::Tensor x = at::randn({1, 3, 64});
  EXPECT_TRUE(at::equal(w(x, {}), at::linear(x, w.base.weight)));
  models::phi4mm::LoraRows on;
  on.active = true;
  EXPECT_LT(testing::max_abs_diff(w(x, on), at::linear(x, w.base.weight) + 2.0 * at::linear(at::linear(x, w.a), w.b)), 1e-5);
}

TEST(Phi4mmLoad, RuntimeLoraEqualsMergedLora) {
  Scratch scratch;
  tiny::TinyPhi4mmOptions native;
  native.native_layout = true;
  for (const bool is_native : {false, true}) {
    const std::string name = is_native ? "native" : "remote";
    const auto runtime = testing::tiny_phi4mm(scratch, name, is_native ? native : tiny::TinyPhi4mmOptions{});
    const auto merged = testing::tiny_phi4mm(scratch, name, {}, LoraMode::merged);
    EXPECT_TRUE(merged->decoder().weights().layers[1].down_proj.merged.defined());
    const at::Tensor ids = ids_for(*runtime, 3, 8, 3);
    at::Tensor mask = at::ones({3, 8}, at::kBool);
    mask[2].narrow(0, 5, 3).fill_(false);
    // A mixed batch: rows 0 and 2 with an image, row 1 text only.
    auto b = testing::phi_batch(ids, mask, {true, false, true});
    HookSet hr, hm;
    hr.cache("blocks.1.attn.hook_q");
    hm.cache("blocks.1.attn.hook_q");
    const at::Tensor r = logits_of(*runtime, b.batch, &hr), mm = logits_of(*merged, b.batch, &hm);
    EXPECT_LT(testing::max_abs_diff(r, mm), 1e-4) << name;
    EXPECT_LT(testing::max_abs_diff(hr.cached().at("blocks.1.attn.hook_q"), hm.cached().at("blocks.1.attn.hook_q")), 1e-4);
    // Row 1 is what a text-only batch gives.
    auto alone = testing::phi_batch(ids.narrow(0, 1, 1), mask.narrow(0, 1, 1), {false});
    EXPECT_LT(testing::max_abs_diff(logits_of(*runtime, alone.batch)[0], r[1]), 1e-5) << name;
    auto alone_image = testing::phi_batch(ids.narrow(0, 0, 1), mask.narrow(0, 0, 1), {true});
    EXPECT_LT(testing::max_abs_diff(logits_of(*merged, alone_image.batch)[0], r[0]), 1e-4) << name;
  }
}

TEST(Phi4mmLoad, ChatFormatAndAnnotations) {
  Scratch scratch;
  const auto m = testing::tiny_phi4mm(scratch, "remote");
  InputSpec in;
  in.id = "q";
  in.text = "What is the cat doing?";
  const EncodedInput e = m->encode(in);
  const auto& t = m->chat_tokens();
  ASSERT_GE(e.ids.size(), 4u);
  EXPECT_EQ(e.ids.front(), t.user);
  EXPECT_EQ(e.ids[e.ids.size() - 2], t.end);
  EXPECT_EQ(e.ids.back(), t.assistant);
  EXPECT_EQ(e.answer_position, static_cast<std::int64_t>(e.ids.size()) - 1);
  EXPECT_EQ(e.annotations.front().modality, Modality::special);
  EXPECT_EQ(e.annotations[1].modality, Modality::text);
  EXPECT_EQ(e.tokens.front(), "<|user|>");
  // The text's ids are the raw encoding's, between the template tokens.
  const EncodedInput raw = m->encode_raw(in.text);
  EXPECT_EQ(std::vector<std::int64_t>(e.ids.begin() + 1, e.ids.end() - 2), raw.ids);
}

TEST(Phi4mmLoad, AudioInputsAreRefusedByName) {
  Scratch scratch;
  const auto m = testing::tiny_phi4mm(scratch, "remote");
  InputSpec in;
  in.id = "speech";
  in.text = "<|audio_1|>Transcribe this.";
  try {
    m->encode(in);
    FAIL() << "audio placeholder accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input 'speech'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("audio"), std::string::npos) << e.what();
  }
  in.text = "Transcribe this.";
  in.image = "/data/clip.wav";
  EXPECT_THROW(m->encode(in), Error);
  in.image.reset();
  in.text = "hi <|endoftext11|>";
  EXPECT_THROW(m->encode(in), Error);
}

TEST(Phi4mmLoad, EveryProblemOfABrokenCheckpointInOneError) {
  Scratch scratch;
  const auto m = testing::tiny_phi4mm(scratch, "remote");  // writes the folder
  // Rewrite the checkpoint without two tensors: the error names both.
  const std::string dir = scratch.path("remote");
  auto file = checkpoint::SafetensorsFile::open(dir + "/model.safetensors");
  std::map<std::string, at::Tensor> kept;
  for (const auto& [name, v] : file.tensors()) {
    if (name == "model.norm.weight" || name == "model.layers.1.mlp.down_proj.lora_B.vision.weight") continue;
    kept[name] = at::from_blob(const_cast<std::byte*>(v.data), v.shape, at::TensorOptions().dtype(checkpoint::to_scalar_type(v.dtype))).clone();
  }
  std::filesystem::create_directories(scratch.path("broken"));
  checkpoint::write_tensors(scratch.path("broken") + "/model.safetensors", kept);
  for (const char* f : {"config.json", "tokenizer.json"})
    std::filesystem::copy_file(dir + "/" + f, scratch.path("broken") + "/" + f);
  models::LoadOptions load;
  load.path = scratch.path("broken");
  try {
    models::phi4mm::Phi4mmModel::load(load);
    FAIL() << "broken checkpoint loaded";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("model.norm.weight"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace mechlens
