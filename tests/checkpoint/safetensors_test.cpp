// safetensors reading, writing and every corruption the reader must catch.
#include "checkpoint/safetensors.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>

#include "mechlens/error.hpp"
#include "test_files.hpp"

namespace mechlens::checkpoint {
namespace {

using testing::raw;
using testing::read_bytes;
using testing::ScratchDir;
using testing::u64_le;
using testing::write_bytes;
using testing::write_raw_safetensors;

// Expects `fn` to throw mechlens::Error whose message contains every fragment.
template <typename Fn>
void expect_error(Fn fn, const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown; expected one mentioning " << fragments.front();
  } catch (const Error& e) {
    for (const auto& f : fragments)
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos)
          << "message '" << e.what() << "' lacks '" << f << "'";
  }
}

TEST(SafetensorsTest, DTypeNamesAndSizesFollowTheFormat) {
  EXPECT_EQ(parse_dtype("BF16", "x"), DType::bf16);
  EXPECT_STREQ(to_string(DType::boolean), "BOOL");
  EXPECT_EQ(element_size(DType::f64), 8u);
  EXPECT_EQ(element_size(DType::bf16), 2u);
  EXPECT_EQ(element_size(DType::boolean), 1u);
  expect_error([] { parse_dtype("F8_E4M3", "file.safetensors: tensor 'w'"); },
               {"file.safetensors", "'w'", "F8_E4M3"});
}

TEST(SafetensorsTest, RoundTripsEveryDType) {
  ScratchDir dir;
  const std::string path = dir.file("all.safetensors");
  at::manual_seed(0);
  std::map<std::string, at::Tensor> tensors;
  for (auto type : {at::kDouble, at::kFloat, at::kHalf, at::kBFloat16})
    tensors[std::string("t_") + c10::toString(type)] = at::randn({2, 3}, type);
  for (auto type : {at::kLong, at::kInt, at::kShort, at::kChar, at::kByte})
    tensors[std::string("t_") + c10::toString(type)] =
        at::randint(type == at::kByte ? 0 : -100, 100, {3, 2}, type);
  tensors["t_bool"] = at::rand({5}) > 0.5;
  tensors["t_scalar"] = at::scalar_tensor(7.25, at::kFloat);
  tensors["t_empty"] = at::zeros({0, 4}, at::kFloat);
  write_tensors(path, tensors, {{"format", "pt"}});

  auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  ASSERT_EQ(file.tensors().size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    SCOPED_TRACE(name);
    const auto& view = file.tensors().at(name);
    EXPECT_EQ(view.name, name);
    EXPECT_EQ(view.file, path);
    EXPECT_EQ(view.dtype, from_scalar_type(tensor.scalar_type()));
    EXPECT_EQ(view.shape, tensor.sizes().vec());
    ASSERT_EQ(view.nbytes, tensor.nbytes());
    // An empty tensor's data_ptr() is null, and memcmp's pointers must not be (UBSan).
    if (view.nbytes > 0) {
      EXPECT_EQ(std::memcmp(view.data, tensor.data_ptr(), view.nbytes), 0);
    }
  }
  EXPECT_EQ(file.tensors().at("t_bool").dtype, DType::boolean);
  EXPECT_EQ(file.tensors().at("t_BFloat16").dtype, DType::bf16);
}

// The bytes on disk, read without our reader: 8-byte LE length, a header that
// starts with '{' and is space-padded to a multiple of 8, "__metadata__",
// tensors sorted by name with contiguous offsets, data in that order.
TEST(SafetensorsTest, WriterProducesTheReferenceLayout) {
  ScratchDir dir;
  const std::string path = dir.file("layout.safetensors");
  std::vector<float> b = {1.0f, 2.0f, 3.0f};
  std::vector<std::int16_t> a = {-1, 5};
  std::vector<TensorData> tensors(2);
  tensors[0] = {"b", DType::f32, {3}, {}};
  tensors[0].bytes.resize(12);
  std::memcpy(tensors[0].bytes.data(), b.data(), 12);
  tensors[1] = {"a", DType::i16, {1, 2}, {}};
  tensors[1].bytes.resize(4);
  std::memcpy(tensors[1].bytes.data(), a.data(), 4);
  write_safetensors(path, tensors, {{"k", "v"}});

  std::string bytes = read_bytes(path);
  ASSERT_GE(bytes.size(), 8u);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ(n % 8, 0u);
  ASSERT_EQ(bytes.size(), 8 + n + 4 + 12);
  std::string header = bytes.substr(8, n);
  EXPECT_EQ(header.front(), '{');
  std::string trimmed = header.substr(0, header.find_last_not_of(' ') + 1);
  EXPECT_EQ(header.substr(trimmed.size()), std::string(header.size() - trimmed.size(), ' '));
  EXPECT_LT(header.size() - trimmed.size(), 8u);
  auto json = nlohmann::json::parse(trimmed);
  EXPECT_EQ(json["__metadata__"]["k"], "v");
  EXPECT_EQ(json["a"]["dtype"], "I16");
  EXPECT_EQ(json["a"]["shape"], nlohmann::json::array({1, 2}));
  EXPECT_EQ(json["a"]["data_offsets"], nlohmann::json::array({0, 4}));
  EXPECT_EQ(json["b"]["data_offsets"], nlohmann::json::array({4, 16}));
  EXPECT_EQ(bytes.substr(8 + n), raw(a) + raw(b));
  EXPECT_LT(trimmed.find("\"a\""), trimmed.find("\"b\""));
}

TEST(SafetensorsTest, WriterRejectsInconsistentTensors) {
  ScratchDir dir;
  TensorData t{"w", DType::f32, {2, 2}, std::vector<std::byte>(12)};
  expect_error([&] { write_safetensors(dir.file("x.safetensors"), {t}); }, {"x.safetensors", "'w'"});
  t.bytes.resize(16);
  expect_error([&] { write_safetensors(dir.file("x.safetensors"), {t, t}); }, {"'w'", "twice"});
}

// A file made by hand, as another writer might lay it out: unsorted entries,
// no padding, tensors in a different order than their offsets.
TEST(SafetensorsTest, ReadsAHandMadeFile) {
  ScratchDir dir;
  const std::string path = dir.file("hand.safetensors");
  std::string header =
      R"({"y":{"dtype":"I32","shape":[2],"data_offsets":[8,16]},)"
      R"("x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})";
  write_raw_safetensors(path, header, raw(std::vector<double>{0.5}) + raw(std::vector<std::int32_t>{7, -9}));
  auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file.header_json(), header);
  EXPECT_TRUE(file.metadata().empty());
  const auto& y = file.tensors().at("y");
  std::int32_t values[2];
  std::memcpy(values, y.data, 8);
  EXPECT_EQ(values[0], 7);
  EXPECT_EQ(values[1], -9);
  double x;
  std::memcpy(&x, file.tensors().at("x").data, 8);
  EXPECT_EQ(x, 0.5);
}

// ---- corruption: each must name the file (and the tensor when there is one)

class CorruptionTest : public ::testing::Test {
 protected:
  ScratchDir dir;
  std::string path = dir.file("bad.safetensors");
  std::string good_header = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  std::string good_data = raw(std::vector<float>{1, 2, 3, 4});
};

TEST_F(CorruptionTest, FileShorterThanTheLengthField) {
  write_bytes(path, "\x10\x00\x00");
  expect_error([&] { SafetensorsFile::open(path); }, {path, "shorter than"});
}

TEST_F(CorruptionTest, MissingFile) {
  expect_error([&] { SafetensorsFile::open(dir.file("absent.safetensors")); },
               {"absent.safetensors", "cannot open"});
}

TEST_F(CorruptionTest, HeaderLengthBeyondTheFile) {
  write_bytes(path, u64_le(1000) + good_header + good_data);
  expect_error([&] { SafetensorsFile::open(path); }, {path, "header length 1000"});
  write_bytes(path, u64_le(~0ull) + good_header);  // would overflow 8 + n
  expect_error([&] { SafetensorsFile::open(path); }, {path, "header length"});
}

TEST_F(CorruptionTest, HeaderNotJson) {
  write_raw_safetensors(path, "{\"w\": [1, 2", good_data);
  expect_error([&] { SafetensorsFile::open(path); }, {path, "not valid JSON"});
  write_raw_safetensors(path, "[1, 2]", good_data);
  expect_error([&] { SafetensorsFile::open(path); }, {path, "not a JSON object"});
}

TEST_F(CorruptionTest, EntryMissingAField) {
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    auto header = nlohmann::json::parse(good_header);
    header["w"].erase(field);
    write_raw_safetensors(path, header.dump(), good_data);
    expect_error([&] { SafetensorsFile::open(path); }, {path, "tensor 'w'", field});
  }
}

TEST_F(CorruptionTest, UnknownDType) {
  write_raw_safetensors(path, R"({"w":{"dtype":"Q4","shape":[16],"data_offsets":[0,16]}})",
                        good_data);
  expect_error([&] { SafetensorsFile::open(path); }, {path, "tensor 'w'", "'Q4'"});
}

TEST_F(CorruptionTest, NegativeOrFractionalShape) {
  write_raw_safetensors(path, R"({"w":{"dtype":"U8","shape":[-16],"data_offsets":[0,16]}})",
                        good_data);
  expect_error([&] { SafetensorsFile::open(path); }, {path, "tensor 'w'", "shape"});
  write_raw_safetensors(path, R"({"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,16]}})",
                        good_data);
  expect_error([&] { SafetensorsFile::open(path); }, {path, "tensor 'w'", "shape"});
}

TEST_F(CorruptionTest, TruncatedData) {
  write_raw_safetensors(path, good_header, good_data);
  std::string bytes = read_bytes(path);
  write_bytes(path, bytes.substr(0, bytes.size() - 5));
  expect_error([&] { SafetensorsFile::open(path); }, {path, "tensor 'w'", "truncated"});
}

TEST_F(CorruptionTest, OffsetsPastTheEnd) {
  write_raw_safetensors(path, R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]}})",
                        good_data);
  expect_error([&] { SafetensorsFile::open(path); }, {path, "tensor 'w'", "past the end"});
}

TEST_F(CorruptionTest, OffsetsReversed) {
  write_raw_safetensors(path, R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[16,0]}})",
                        good_data);
  expect_error([&] { SafetensorsFile::open(path); }, {path, "tensor 'w'", "reversed"});
}

TEST_F(CorruptionTest, SizeDisagreesWithDTypeAndShape) {
  write_raw_safetensors(path, R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}})",
                        good_data);
  expect_error([&] { SafetensorsFile::open(path); }, {path, "tensor 'w'", "16 bytes", "24"});
  write_raw_safetensors(path, R"({"w":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,16]}})",
                        good_data);
  expect_error([&] { SafetensorsFile::open(path); }, {path, "tensor 'w'", "BF16"});
  // A shape whose byte count overflows 64 bits must not wrap around to 16.
  write_raw_safetensors(
      path,
      R"({"w":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,16]}})",
      good_data);
  expect_error([&] { SafetensorsFile::open(path); }, {path, "tensor 'w'"});
}

TEST_F(CorruptionTest, OverlappingRanges) {
  write_raw_safetensors(path,
                        R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                        good_data);
  expect_error([&] { SafetensorsFile::open(path); }, {path, "'a'", "'b'", "overlaps"});
}

TEST_F(CorruptionTest, MetadataMustBeStrings) {
  write_raw_safetensors(
      path, R"({"__metadata__":{"n":3},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})",
      good_data);
  expect_error([&] { SafetensorsFile::open(path); }, {path, "__metadata__", "'n'"});
}

}  // namespace
}  // namespace mechlens::checkpoint
