// What a safetensors header claims is held against what the model needs
// (issue 9): a weight the model computes with in floating point but declared
// integer is refused by name, and bytes after the last tensor's data are
// reported as a load warning (the file still loads).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstring>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/load_warnings.hpp"
#include "mechlens/error.hpp"
#include "test_files.hpp"

namespace mechlens::checkpoint {
namespace {

using testing::read_bytes;
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

std::string floats(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

TEST(HeaderClaims, FloatWeightDeclaredIntegerIsRefused) {
  ScratchDir dir;
  write_bytes(dir.file("config.json"), R"({"model_type": "bert"})");
  // 1.0f and 2.0f, declared I32: read as integers they are 1065353216 and 1073741824.
  write_raw_safetensors(dir.file("model.safetensors"),
                        R"({"w":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},)"
                        R"("f":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                        floats({1.0f, 2.0f}) + floats({3.0f, 4.0f}));
  take_load_warnings();
  const Checkpoint ckpt = Checkpoint::open(dir.str());
  const std::string msg = error_of([&] { ckpt.load("w", {2}, at::TensorOptions().dtype(at::kFloat)); });
  EXPECT_NE(msg.find("tensor 'w'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("I32"), std::string::npos) << msg;
  EXPECT_NE(msg.find("floating-point"), std::string::npos) << msg;
  // As stored (no dtype asked for), an integer tensor is still an integer tensor.
  EXPECT_EQ(ckpt.load("w", {2}, at::TensorOptions()).scalar_type(), at::kInt);
  // Float to float still converts.
  EXPECT_EQ(ckpt.load("f", {2}, at::TensorOptions().dtype(at::kDouble))[1].item<double>(), 4.0);
  EXPECT_TRUE(take_load_warnings().empty());
}

TEST(HeaderClaims, TrailingBytesWarnNamingTheFile) {
  ScratchDir dir;
  const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string path = dir.file("model.safetensors");
  write_raw_safetensors(path, header, floats({1.0f, 2.0f}) + std::string(24, 'x'));
  take_load_warnings();
  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.tensors().size(), 1u);
  const std::vector<std::string> warnings = take_load_warnings();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(path), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("24 bytes after the last tensor"), std::string::npos) << warnings[0];
  EXPECT_TRUE(take_load_warnings().empty());  // taken once

  // Exactly as long as the header says: no warning.
  write_raw_safetensors(path, header, floats({1.0f, 2.0f}));
  SafetensorsFile::open(path);
  EXPECT_TRUE(take_load_warnings().empty());
  // No tensors at all, only stray bytes: the whole data section is unclaimed.
  write_raw_safetensors(path, "{}", std::string(8, 'x'));
  SafetensorsFile::open(path);
  EXPECT_EQ(take_load_warnings().size(), 1u);
}

}  // namespace
}  // namespace mechlens::checkpoint
