// Checkpoint directories: single file and shards, tensor lookup, conversion,
// zero-copy aliasing, used/unused bookkeeping, identity, and the errors.
#include "checkpoint/checkpoint.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "checkpoint/mapped_file.hpp"
#include "checkpoint/name_match.hpp"
#include "checkpoint/sha256.hpp"
#include "mechlens/error.hpp"
#include "test_files.hpp"

namespace mechlens::checkpoint {
namespace {

using testing::raw;
using testing::ScratchDir;
using testing::write_bytes;
using testing::write_raw_safetensors;

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

TensorData f32(const std::string& name, std::vector<std::int64_t> shape, std::vector<float> v) {
  TensorData t{name, DType::f32, std::move(shape), std::vector<std::byte>(v.size() * 4)};
  std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}

TensorData half_bits(const std::string& name, DType dtype, std::vector<std::uint16_t> bits) {
  TensorData t{name, dtype, {static_cast<std::int64_t>(bits.size())},
               std::vector<std::byte>(bits.size() * 2)};
  std::memcpy(t.bytes.data(), bits.data(), t.bytes.size());
  return t;
}

const at::TensorOptions kF32 = at::TensorOptions().dtype(at::kFloat);

class CheckpointTest : public ::testing::Test {
 protected:
  ScratchDir dir;
  void config(const std::string& text = R"({"model_type": "bert", "hidden_size": 4})") {
    write_bytes(dir.file("config.json"), text);
  }
  // embeddings.weight [2,3], ln.weight [3], ln.bias [3], bf16/f16 tensors.
  void single_file() {
    config();
    write_safetensors(dir.file("model.safetensors"),
                      {f32("embeddings.weight", {2, 3}, {1, 2, 3, 4, 5, 6}),
                       f32("ln.weight", {3}, {1, 1, 1}), f32("ln.bias", {3}, {0, 0, 0}),
                       // bf16 is the top half of an IEEE f32: 0x3FC0 = 1.5,
                       // 0xC000 = -2, 0x3DCD = 0.10009765625, 0x7F80 = +inf.
                       half_bits("b16", DType::bf16, {0x3FC0, 0xC000, 0x3DCD, 0x7F80}),
                       // IEEE binary16: 0x3E00 = 1.5, 0xC000 = -2,
                       // 0x3555 = 0.333251953125, 0x0001 = 2^-24 (subnormal).
                       half_bits("f16", DType::f16, {0x3E00, 0xC000, 0x3555, 0x0001})});
  }
  // Two shards: a.* in shard 1, b.* in shard 2.
  void sharded(const std::string& weight_map) {
    config();
    write_safetensors(dir.file("model-00001-of-00002.safetensors"),
                      {f32("a.weight", {2}, {1, 2}), f32("a.bias", {2}, {3, 4})});
    write_safetensors(dir.file("model-00002-of-00002.safetensors"),
                      {f32("b.weight", {1}, {5})});
    write_bytes(dir.file("model.safetensors.index.json"),
                R"({"metadata": {"total_size": 20}, "weight_map": )" + weight_map + "}");
  }
  const std::string good_map =
      R"({"a.weight": "model-00001-of-00002.safetensors", "a.bias": "model-00001-of-00002.safetensors",
          "b.weight": "model-00002-of-00002.safetensors"})";
};

TEST_F(CheckpointTest, ConvertsHalfPrecisionToFloat) {
  single_file();
  auto ckpt = Checkpoint::open(dir.str());
  at::Tensor b16 = ckpt.load("b16", {4}, kF32);
  ASSERT_EQ(b16.scalar_type(), at::kFloat);
  EXPECT_EQ(b16[0].item<float>(), 1.5f);
  EXPECT_EQ(b16[1].item<float>(), -2.0f);
  EXPECT_EQ(b16[2].item<float>(), 0.10009765625f);
  EXPECT_TRUE(std::isinf(b16[3].item<float>()));
  at::Tensor f16 = ckpt.load("f16", {4}, kF32);
  EXPECT_EQ(f16[0].item<float>(), 1.5f);
  EXPECT_EQ(f16[1].item<float>(), -2.0f);
  EXPECT_EQ(f16[2].item<float>(), 0.333251953125f);
  EXPECT_EQ(f16[3].item<float>(), std::ldexp(1.0f, -24));
  at::Tensor as_double = ckpt.load("embeddings.weight", {2, 3}, at::TensorOptions().dtype(at::kDouble));
  EXPECT_EQ(as_double.scalar_type(), at::kDouble);
  EXPECT_EQ(as_double[1][2].item<double>(), 6.0);
  at::Tensor to_bf16 = ckpt.load("embeddings.weight", {2, 3}, at::TensorOptions().dtype(at::kBFloat16));
  EXPECT_EQ(to_bf16.scalar_type(), at::kBFloat16);
  EXPECT_EQ(to_bf16[0][1].item<float>(), 2.0f);
}

TEST_F(CheckpointTest, SameDTypeAliasesTheMapping) {
  single_file();
  auto ckpt = Checkpoint::open(dir.str());
  const TensorView& view = ckpt.view("embeddings.weight");
  at::Tensor aliased = ckpt.load("embeddings.weight", {2, 3}, kF32);
  EXPECT_EQ(aliased.data_ptr(), static_cast<const void*>(view.data));
  auto mapping = SafetensorsFile::open(dir.file("model.safetensors"));  // a second mapping
  EXPECT_EQ(aliased[1][0].item<float>(), 4.0f);
  at::Tensor bf16_aliased = ckpt.load("b16", {4}, at::TensorOptions().dtype(at::kBFloat16));
  EXPECT_EQ(bf16_aliased.data_ptr(), static_cast<const void*>(ckpt.view("b16").data));
  // No dtype requested: the stored one, aliased.
  at::Tensor as_stored = ckpt.load("f16", {4}, at::TensorOptions());
  EXPECT_EQ(as_stored.scalar_type(), at::kHalf);
  EXPECT_EQ(as_stored.data_ptr(), static_cast<const void*>(ckpt.view("f16").data));
  // A conversion copies: the result lies outside the mapping.
  at::Tensor converted = ckpt.load("b16", {4}, kF32);
  EXPECT_NE(converted.data_ptr(), static_cast<const void*>(ckpt.view("b16").data));
}

// Resident pages of this process (/proc/self/statm, second field) in bytes.
double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  double size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

// An adapter that copies an aliased tensor (BERT's stacked q/k/v) gives its
// pages back: they leave the resident set, and the alias still reads the
// same values (refilled from the file). A copy is left alone.
TEST_F(CheckpointTest, ReleasedPagesLeaveTheResidentSetAndReadBackUnchanged) {
  config();
  const std::int64_t n = 4 << 20;  // 16 MiB of float32
  std::vector<float> values(n);
  for (std::int64_t i = 0; i < n; ++i) values[i] = static_cast<float>(i % 1000) * 0.5f;
  write_safetensors(dir.file("model.safetensors"), {f32("big", {n}, values), f32("small", {2}, {1, 2})});
  auto ckpt = Checkpoint::open(dir.str());
  const at::Tensor big = ckpt.load("big", {n}, kF32);
  const double expected_sum = big.sum(at::kDouble).item<double>();  // every page touched
  const double before = resident_bytes();
  ckpt.release_pages(big);
  EXPECT_GT(before - resident_bytes(), 12.0 * (1 << 20));
  EXPECT_EQ(big.sum(at::kDouble).item<double>(), expected_sum);
  EXPECT_EQ(big[n - 1].item<float>(), values[n - 1]);
  const at::Tensor copy = ckpt.load("small", {2}, at::TensorOptions().dtype(at::kDouble));
  ckpt.release_pages(copy);
  EXPECT_EQ(copy[1].item<double>(), 2.0);
}

TEST_F(CheckpointTest, AliasedTensorOutlivesTheCheckpoint) {
  single_file();
  at::Tensor kept;
  {
    auto ckpt = Checkpoint::open(dir.str());
    kept = ckpt.load("embeddings.weight", {2, 3}, kF32);
  }
  EXPECT_TRUE(at::equal(kept, at::arange(1, 7, kF32).reshape({2, 3})));
}

TEST_F(CheckpointTest, CopiesAndMovesStayUsable) {
  single_file();
  std::optional<Checkpoint> original(Checkpoint::open(dir.str()));
  Checkpoint copy = *original;
  Checkpoint assigned;
  assigned = *original;
  original.reset();
  Checkpoint moved = std::move(copy);
  EXPECT_EQ(moved.view("ln.weight").name, "ln.weight");
  EXPECT_EQ(moved.load("ln.weight", {3}, kF32).sum().item<float>(), 3.0f);
  EXPECT_EQ(assigned.load("embeddings.weight", {2, 3}, kF32)[0][0].item<float>(), 1.0f);
}

TEST_F(CheckpointTest, UnalignedDataIsCopiedNotAliased) {
  config();
  // Hand-made: a 1-byte tensor first puts the f32 tensor at an odd address.
  std::string header =
      R"({"pad":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
      R"("w":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}})";
  header += std::string((8 - header.size() % 8) % 8, ' ');
  write_raw_safetensors(dir.file("model.safetensors"), header,
                        std::string(1, '\x07') + raw(std::vector<float>{2.5f, -1.0f}));
  auto ckpt = Checkpoint::open(dir.str());
  at::Tensor w = ckpt.load("w", {2}, kF32);
  EXPECT_NE(w.data_ptr(), static_cast<const void*>(ckpt.view("w").data));
  EXPECT_EQ(w[0].item<float>(), 2.5f);
  EXPECT_EQ(w[1].item<float>(), -1.0f);
}

TEST_F(CheckpointTest, RefusesFloatToInteger) {
  single_file();
  auto ckpt = Checkpoint::open(dir.str());
  std::string message =
      error_of([&] { ckpt.load("ln.bias", {3}, at::TensorOptions().dtype(at::kLong)); });
  EXPECT_CONTAINS(message, "'ln.bias'");
  EXPECT_CONTAINS(message, "F32");
}

TEST_F(CheckpointTest, MissingTensorNamesDirectoryCountAndSuggestion) {
  single_file();
  auto ckpt = Checkpoint::open(dir.str());
  std::string message = error_of([&] { ckpt.load("embeddings.weigth", {2, 3}, kF32); });
  EXPECT_EQ(message, dir.str() + ": tensor 'embeddings.weigth' missing (checkpoint has 5 tensors; "
                                 "did you mean 'embeddings.weight'?)");
  message = error_of([&] { ckpt.view("zzzzzzzzzzzzzzzzzzzzzzzzz"); });
  EXPECT_CONTAINS(message, "'zzzzzzzzzzzzzzzzzzzzzzzzz' missing (checkpoint has 5 tensors)");
  EXPECT_FALSE(ckpt.has("embeddings.weigth"));
  EXPECT_TRUE(ckpt.has("embeddings.weight"));
}

TEST_F(CheckpointTest, ShapeMismatchNamesTensorFileAndBothShapes) {
  single_file();
  auto ckpt = Checkpoint::open(dir.str());
  std::string message = error_of([&] { ckpt.load("embeddings.weight", {3, 2}, kF32); });
  EXPECT_EQ(message, dir.file("model.safetensors") +
                         ": tensor 'embeddings.weight' has shape [2, 3], expected [3, 2]");
  EXPECT_CONTAINS(error_of([&] { ckpt.load("ln.weight", {}, kF32); }), "expected []");
  // A failed load does not count as a use.
  EXPECT_EQ(ckpt.unused().size(), 5u);
}

TEST_F(CheckpointTest, UnusedTensorsAreReportedByName) {
  single_file();
  auto ckpt = Checkpoint::open(dir.str());
  EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"b16", "embeddings.weight", "f16", "ln.bias",
                                                     "ln.weight"}));
  ckpt.load("embeddings.weight", {2, 3}, kF32);
  ckpt.load("ln.weight", {3}, kF32);
  EXPECT_EQ(ckpt.unused(), (std::vector<std::string>{"b16", "f16", "ln.bias"}));
  EXPECT_EQ(ckpt.unused({"*16"}), (std::vector<std::string>{"ln.bias"}));
  std::string message = error_of([&] { ckpt.require_all_used({"f1?"}); });
  EXPECT_CONTAINS(message, dir.str() + ": 2 tensors never used");
  EXPECT_CONTAINS(message, "'b16'");
  EXPECT_CONTAINS(message, "'ln.bias'");
  EXPECT_EQ(message.find("'f16'"), std::string::npos);
  EXPECT_NO_THROW(ckpt.require_all_used({"*16", "ln.*"}));
  ckpt.load("ln.bias", {3}, kF32);
  ckpt.load("b16", {4}, kF32);
  ckpt.load("f16", {4}, kF32);
  EXPECT_NO_THROW(ckpt.require_all_used());
}

TEST_F(CheckpointTest, FirstPresent) {
  single_file();
  auto ckpt = Checkpoint::open(dir.str());
  EXPECT_EQ(ckpt.first_present({"ln.gamma", "ln.weight", "ln.bias"}), "ln.weight");
  EXPECT_EQ(ckpt.first_present({"ln.gamma", "LayerNorm.weight"}), std::nullopt);
}

TEST(GlobTest, StarMatchesAnyRunIncludingDots) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("cls.*", "cls.predictions.bias"));
  EXPECT_TRUE(glob_match("*.position_ids", "bert.embeddings.position_ids"));
  EXPECT_TRUE(glob_match("layers.*.rotary_emb.*", "layers.3.rotary_emb.inv_freq"));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYbZc"));
  EXPECT_TRUE(glob_match("layer.?.w", "layer.7.w"));
  EXPECT_FALSE(glob_match("layer.?.w", "layer.12.w"));
  EXPECT_FALSE(glob_match("cls.*", "bert.cls.x"));
  EXPECT_FALSE(glob_match("*.bias", "ln.bias.x"));
  EXPECT_FALSE(glob_match("abc", "ab"));
}

TEST_F(CheckpointTest, ShardedCheckpointLoads) {
  sharded(good_map);
  auto ckpt = Checkpoint::open(dir.str());
  EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"a.bias", "a.weight", "b.weight"}));
  EXPECT_EQ(ckpt.load("a.bias", {2}, kF32)[1].item<float>(), 4.0f);
  EXPECT_EQ(ckpt.load("b.weight", {1}, kF32)[0].item<float>(), 5.0f);
  EXPECT_EQ(ckpt.view("b.weight").file, dir.file("model-00002-of-00002.safetensors"));
  EXPECT_EQ(ckpt.config().get<std::string>("model_type"), "bert");
  auto id = ckpt.identity("hf-bert");
  EXPECT_EQ(id.files, (std::vector<std::string>{"model-00001-of-00002.safetensors",
                                                "model-00002-of-00002.safetensors"}));
}

TEST_F(CheckpointTest, IndexNamingAMissingShard) {
  sharded(R"({"a.weight": "model-00001-of-00002.safetensors", "a.bias": "model-00001-of-00002.safetensors",
              "b.weight": "model-00002-of-00002.safetensors", "c.weight": "model-00003-of-00002.safetensors"})");
  std::string message = error_of([&] { Checkpoint::open(dir.str()); });
  EXPECT_CONTAINS(message, "model.safetensors.index.json");
  EXPECT_CONTAINS(message, "'model-00003-of-00002.safetensors'");
  EXPECT_CONTAINS(message, "'c.weight'");
  EXPECT_CONTAINS(message, "does not exist");
}

TEST_F(CheckpointTest, IndexListsTensorAbsentFromItsShard) {
  sharded(R"({"a.weight": "model-00001-of-00002.safetensors", "a.bias": "model-00001-of-00002.safetensors",
              "b.weight": "model-00002-of-00002.safetensors", "b.bias": "model-00002-of-00002.safetensors"})");
  std::string message = error_of([&] { Checkpoint::open(dir.str()); });
  EXPECT_CONTAINS(message, dir.file("model.safetensors.index.json") + ": tensor 'b.bias'");
  EXPECT_CONTAINS(message, dir.file("model-00002-of-00002.safetensors") + " does not contain it");
}

TEST_F(CheckpointTest, ShardHoldsTensorTheIndexLacks) {
  sharded(R"({"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors"})");
  std::string message = error_of([&] { Checkpoint::open(dir.str()); });
  EXPECT_CONTAINS(message, dir.file("model-00001-of-00002.safetensors") + ": tensor 'a.bias'");
  EXPECT_CONTAINS(message, "model.safetensors.index.json");
}

TEST_F(CheckpointTest, TensorDuplicatedAcrossShards) {
  sharded(good_map);
  write_safetensors(dir.file("model-00002-of-00002.safetensors"),
                    {f32("b.weight", {1}, {5}), f32("a.bias", {2}, {3, 4})});
  std::string message = error_of([&] { Checkpoint::open(dir.str()); });
  EXPECT_CONTAINS(message, "'a.bias'");
  EXPECT_CONTAINS(message, "model-00001-of-00002.safetensors");
  EXPECT_CONTAINS(message, "model-00002-of-00002.safetensors");
}

TEST_F(CheckpointTest, CorruptShardIsNamed) {
  sharded(good_map);
  std::string path = dir.file("model-00002-of-00002.safetensors");
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 2);
  std::string message = error_of([&] { Checkpoint::open(dir.str()); });
  EXPECT_CONTAINS(message, path + ": tensor 'b.weight'");
  EXPECT_CONTAINS(message, "truncated");
}

TEST_F(CheckpointTest, MalformedIndexIsNamed) {
  sharded(good_map);
  write_bytes(dir.file("model.safetensors.index.json"), "{\"weight_map\": {\"a\": 3}}");
  EXPECT_CONTAINS(error_of([&] { Checkpoint::open(dir.str()); }),
                  dir.file("model.safetensors.index.json") + ": key 'weight_map.a'");
  write_bytes(dir.file("model.safetensors.index.json"), "{\"metadata\": {}}");
  EXPECT_CONTAINS(error_of([&] { Checkpoint::open(dir.str()); }),
                  dir.file("model.safetensors.index.json") + ": key 'weight_map' missing");
}

TEST_F(CheckpointTest, MissingWeightsNamesTheDirectory) {
  config();
  EXPECT_EQ(error_of([&] { Checkpoint::open(dir.str()); }),
            dir.str() + ": no model.safetensors or model.safetensors.index.json");
  write_bytes(dir.file("pytorch_model.bin"), "pickle");
  EXPECT_CONTAINS(error_of([&] { Checkpoint::open(dir.str()); }), "pytorch_model.bin is not read");
  EXPECT_CONTAINS(error_of([&] { Checkpoint::open(dir.file("nope")); }),
                  dir.file("nope") + ": checkpoint directory does not exist");
}

TEST_F(CheckpointTest, ConfigErrorsNameConfigJson) {
  single_file();
  write_bytes(dir.file("config.json"), "{\n \"a\": 1\n \"b\": 2}");
  EXPECT_CONTAINS(error_of([&] { Checkpoint::open(dir.str()); }), dir.file("config.json") + ":3:");
  std::filesystem::remove(dir.file("config.json"));
  EXPECT_CONTAINS(error_of([&] { Checkpoint::open(dir.str()); }), dir.file("config.json"));
}

// The identity hashes what the files say, computed here from the raw bytes:
// each file's header, then its tensors' bytes (all of them, these tensors
// being smaller than the three 4 KiB samples taken of each).
TEST_F(CheckpointTest, IdentityHashesConfigHeadersAndData) {
  sharded(good_map);
  auto after_length = [](const std::string& path) { return testing::read_bytes(path).substr(8); };
  auto id = Checkpoint::open(dir.str()).identity("hf-bert");
  EXPECT_EQ(id.path, dir.str());
  EXPECT_EQ(id.format, "hf-bert");
  EXPECT_EQ(id.config_sha256, sha256_hex(testing::read_bytes(dir.file("config.json"))));
  EXPECT_EQ(id.tensors_sha256,
            sha256_hex(after_length(dir.file("model-00001-of-00002.safetensors")) +
                       after_length(dir.file("model-00002-of-00002.safetensors"))));
  // Same values, different shape: a different identity.
  write_safetensors(dir.file("model-00002-of-00002.safetensors"), {f32("b.weight", {1, 1}, {5})});
  auto changed = Checkpoint::open(dir.str()).identity("hf-bert");
  EXPECT_EQ(changed.config_sha256, id.config_sha256);
  EXPECT_NE(changed.tensors_sha256, id.tensors_sha256);
}

// Weights swapped in place under identical headers (issue 9: --resume took
// another fine-tune for the same checkpoint). The identity samples each
// tensor's first, middle and last 4 KiB rather than hashing every byte.
TEST_F(CheckpointTest, IdentitySeesOtherWeightsUnderTheSameHeaders) {
  config();
  const std::int64_t n = 16 * 1024;  // 64 KiB of float32: sampled, not hashed whole
  std::vector<float> values(n, 0.25f);
  auto write = [&] { write_safetensors(dir.file("model.safetensors"), {f32("w", {n}, values)}); };
  auto identity = [&] { return Checkpoint::open(dir.str()).identity("hf-bert").tensors_sha256; };
  auto header = [&] {
    const std::string bytes = testing::read_bytes(dir.file("model.safetensors"));
    std::uint64_t length = 0;
    for (int i = 7; i >= 0; --i) length = (length << 8) | static_cast<unsigned char>(bytes[i]);
    return bytes.substr(0, 8 + length);
  };
  write();
  const std::string header_before = header();
  const std::string first = identity();
  EXPECT_EQ(identity(), first);  // stable
  for (const std::int64_t at : {std::int64_t{0}, n / 2, n - 1}) {  // in the first, middle and last block
    values.assign(n, 0.25f);
    values[at] = 0.5f;
    write();
    ASSERT_EQ(header(), header_before);
    EXPECT_NE(identity(), first) << "element " << at;
  }
  // Between the samples nothing is read: the price of not hashing 11 GB per run.
  values.assign(n, 0.25f);
  values[n / 4] = 0.5f;
  write();
  EXPECT_EQ(identity(), first);
}

}  // namespace
}  // namespace mechlens::checkpoint
