// The declarative tensor table: per-layer patterns, optional tensors,
// alternative spellings (which one was found), and one error that lists every
// missing, mis-shaped and extra tensor with the file names.
#include "checkpoint/tensor_table.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "mechlens/error.hpp"
#include "test_files.hpp"

namespace mechlens::checkpoint {
namespace {

using testing::ScratchDir;
using testing::write_bytes;

const at::TensorOptions kF32 = at::TensorOptions().dtype(at::kFloat);

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

#define EXPECT_CONTAINS(text, fragment) \
  EXPECT_NE(std::string(text).find(fragment), std::string::npos) << "in: " << (text)

class TensorTableTest : public ::testing::Test {
 protected:
  ScratchDir dir;
  // Two layers; layer 0 in the "base_layer" (LoRA) spelling, layer 1 plain.
  Checkpoint write(std::map<std::string, at::Tensor> tensors) {
    write_bytes(dir.file("config.json"), R"({"model_type": "toy"})");
    write_tensors(dir.file("model.safetensors"), tensors);
    return Checkpoint::open(dir.str());
  }
  std::map<std::string, at::Tensor> good() {
    return {{"embed.weight", at::arange(12, kF32).reshape({4, 3})},
            {"layers.0.qkv.base_layer.weight", at::ones({6, 3}, kF32)},
            {"layers.1.qkv.weight", at::full({6, 3}, 2.0, kF32)},
            {"layers.0.norm.weight", at::ones({3}, kF32)},
            {"layers.1.norm.weight", at::ones({3}, kF32)},
            {"rotary.inv_freq", at::ones({2}, kF32)}};
  }
  TensorTable table() {
    TensorTable t("toy");
    t.add("embed.weight", {4, 3});
    t.add("layers.{i}.qkv.base_layer.weight", {6, 3}).or_named("layers.{i}.qkv.weight").layers(2);
    t.add("layers.{i}.norm.weight", {3}).layers(2);
    t.add("head.weight", {4, 3}).optional();
    t.ignore("rotary.*");
    return t;
  }
};

TEST_F(TensorTableTest, ResolvesPatternsSpellingsAndOptionals) {
  const Checkpoint ckpt = write(good());
  const TensorSet set = table().resolve(ckpt);
  EXPECT_EQ(set.spelling("layers.{i}.qkv.base_layer.weight", 0), 0);
  EXPECT_EQ(set.spelling("layers.{i}.qkv.base_layer.weight", 1), 1);
  EXPECT_EQ(set.name("layers.{i}.qkv.base_layer.weight", 1), "layers.1.qkv.weight");
  EXPECT_FALSE(set.has("head.weight"));
  EXPECT_EQ(set.spelling("head.weight"), -1);
  EXPECT_FALSE(set.load_if_present("head.weight", kF32).defined());
  EXPECT_EQ(set.load("layers.{i}.qkv.base_layer.weight", kF32, 1).sum().item<float>(), 36.0f);
  EXPECT_EQ(set.load("embed.weight", kF32)[3][2].item<float>(), 11.0f);
  // Loads go through the checkpoint's bookkeeping.
  EXPECT_EQ(ckpt.unused({"rotary.*"}).size(), 3u);  // 5 tensors, 2 loaded
  EXPECT_CONTAINS(error_of([&] { set.load("head.weight", kF32); }), "'head.weight' missing (optional)");
  EXPECT_CONTAINS(error_of([&] { set.has("nonsense"); }), "nonsense: not in the tensor table");
  EXPECT_CONTAINS(error_of([&] { set.has("layers.{i}.norm.weight", 2); }), "layer 2 asked of an entry with 2 layers");
  EXPECT_CONTAINS(error_of([&] { set.has("embed.weight", 0); }), "layer 0 asked");
}

TEST_F(TensorTableTest, OneErrorListsEveryMissingMisshapedAndExtraTensor) {
  auto tensors = good();
  tensors.erase("layers.0.norm.weight");
  tensors.erase("layers.1.norm.weight");
  tensors.erase("embed.weight");
  tensors["embed.weights"] = at::zeros({4, 3}, kF32);          // misspelt: missing + extra
  tensors["layers.1.qkv.weight"] = at::zeros({5, 3}, kF32);    // wrong shape
  tensors["layers.0.qkv.weight"] = at::zeros({6, 3}, kF32);    // both spellings in layer 0
  tensors["layers.0.mlp.fc.weight"] = at::zeros({1}, kF32);    // unknown, grouped by layer
  tensors["layers.1.mlp.fc.weight"] = at::zeros({1}, kF32);
  const Checkpoint ckpt = write(tensors);
  const std::string e = error_of([&] { table().resolve(ckpt); });
  EXPECT_CONTAINS(e, dir.str() + ": the checkpoint does not match the toy tensor table (files: model.safetensors)");
  EXPECT_CONTAINS(e, "3 missing, 1 mis-shaped, 4 extra");
  EXPECT_CONTAINS(e, "missing: 'embed.weight'; did you mean 'embed.weights'?");
  EXPECT_CONTAINS(e, "missing: 'layers.{i}.norm.weight' for every i in 0-1");
  EXPECT_CONTAINS(e, "mis-shaped: 'layers.1.qkv.weight' in model.safetensors has [5, 3], expected [6, 3]");
  EXPECT_CONTAINS(e, "extra: 'embed.weights'");
  EXPECT_CONTAINS(e, "extra: 'layers.0.qkv.weight' (an alternative spelling of 'layers.0.qkv.base_layer.weight'");
  EXPECT_CONTAINS(e, "extra: 'layers.{i}.mlp.fc.weight' for i = 0-1");
  EXPECT_EQ(e.find("rotary"), std::string::npos) << "ignored globs are not extra: " << e;
  // Extras::allow: a part checked alone only reports its own problems.
  const std::string part = error_of([&] { table().resolve(ckpt, Extras::allow); });
  EXPECT_CONTAINS(part, "3 missing, 1 mis-shaped");
  EXPECT_EQ(part.find("extra"), std::string::npos) << part;
}

TEST_F(TensorTableTest, MissingLayersAreListedAsRanges) {
  TensorTable t("toy");
  t.add("l.{i}.w", {1}).layers(6);
  std::map<std::string, at::Tensor> tensors;
  for (int i : {1, 2, 5}) tensors["l." + std::to_string(i) + ".w"] = at::zeros({1}, kF32);
  const Checkpoint ckpt = write(tensors);
  EXPECT_CONTAINS(error_of([&] { t.resolve(ckpt); }), "missing: 'l.{i}.w' for i = 0, 3-4");
  // One absent layer: named as the file would spell it, alternatives too.
  TensorTable u("toy");
  u.add("l.{i}.w", {1}).or_named("l.{i}.gamma").layers(2);
  EXPECT_CONTAINS(error_of([&] { u.resolve(ckpt); }), "1 missing, 2 extra\n  missing: 'l.0.w' (nor 'l.0.gamma')");
}

TEST_F(TensorTableTest, IncludeCombinesPartsAndAnyShapeSkipsTheCheck) {
  const Checkpoint ckpt = write(good());
  TensorTable decoder("decoder");
  decoder.add("embed.weight", {1, 1}).any_shape();
  decoder.add("layers.{i}.norm.weight", {3}).layers(2);
  TensorTable rest("rest");
  rest.add("layers.{i}.qkv.base_layer.weight", {6, 3}).or_named("layers.{i}.qkv.weight").layers(2);
  rest.ignore("rotary.*");
  EXPECT_CONTAINS(error_of([&] { decoder.resolve(ckpt); }), "3 extra");
  TensorTable whole("whole");
  whole.include(decoder).include(rest);
  const TensorSet set = whole.resolve(ckpt);
  EXPECT_EQ(set.load("embed.weight", kF32).sizes(), (c10::IntArrayRef{4, 3}));
  EXPECT_CONTAINS(error_of([&] { whole.include(rest).resolve(ckpt); }), "lists 'layers.{i}.qkv.base_layer.weight' twice");
}

TEST_F(TensorTableTest, TableMistakesAreNamed) {
  const Checkpoint ckpt = write(good());
  TensorTable a("toy");
  a.add("layers.{i}.norm.weight", {3});
  EXPECT_CONTAINS(error_of([&] { a.resolve(ckpt); }), "has {i} but no .layers(n)");
  TensorTable b("toy");
  b.add("embed.weight", {4, 3}).layers(2);
  EXPECT_CONTAINS(error_of([&] { b.resolve(ckpt); }), "has .layers(n) but no {i}");
  EXPECT_EQ(expand_layer("a.{i}.b.{i}", 7), "a.7.b.7");
}

}  // namespace
}  // namespace mechlens::checkpoint
