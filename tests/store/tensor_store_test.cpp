// write_tensor: dtype widening and memory layout, checked in the file.
#include <ATen/ATen.h>

#include <functional>

#include "mechlens/error.hpp"
#include "mechlens/tensor_store.hpp"
#include "store/archive.hpp"
#include "store_test_support.hpp"

namespace mechlens::store {
namespace {

using mechlens::testing::RawFile;
using mechlens::testing::raw_read;
using mechlens::testing::raw_string_attr;
using mechlens::testing::raw_values;

class TensorStoreTest : public mechlens::testing::ScratchDir {
 protected:
  std::string write(const std::function<void(ResultGroup&)>& body) {
    const std::string path = file("t.h5");
    auto run = open_run(path, false);
    body(*run->analysis("t"));
    run->finish();
    return path;
  }
  static std::string at_path(const std::string& name) { return "/runs/run_0001/analyses/t/" + name; }
};

TEST_F(TensorStoreTest, Bf16AndF16AreWidenedToFloat32Exactly) {
  // Values exactly representable in bf16 and f16, so widening must give them back bit for bit.
  const std::vector<float> values = {1.5f, -2.0f, 0.00390625f, 3.140625f, -0.0f, 96.0f};
  const at::Tensor f32 = at::tensor(values, at::kFloat);
  const std::string path = write([&](ResultGroup& g) {
    write_tensor(g, "bf16", f32.to(at::kBFloat16).reshape({2, 3}), {"a", "b"});
    write_tensor(g, "f16", f32.to(at::kHalf), {"x"});
  });
  RawFile f(path);
  for (const char* name : {"bf16", "f16"}) {
    const auto a = raw_read(f.id, at_path(name), H5T_NATIVE_FLOAT);
    EXPECT_EQ(a.cls, H5T_FLOAT) << name;
    EXPECT_EQ(a.size, 4u) << name;
    EXPECT_EQ(raw_values<float>(a), values) << name;
  }
  EXPECT_EQ(raw_read(f.id, at_path("bf16"), H5T_NATIVE_FLOAT).shape, (std::vector<hsize_t>{2, 3}));
  EXPECT_EQ(raw_string_attr(f.id, at_path("bf16"), "dims"), (std::vector<std::string>{"a", "b"}));
}

TEST_F(TensorStoreTest, NonContiguousTensorsAreWrittenInLogicalOrder) {
  // [[0,1,2,3],[4,5,6,7],[8,9,10,11]] transposed, and every second column of it.
  const at::Tensor base = at::arange(12, at::kLong).reshape({3, 4});
  const at::Tensor transposed = base.t();
  ASSERT_FALSE(transposed.is_contiguous());
  const at::Tensor strided = base.to(at::kBFloat16).slice(1, 0, 4, 2);  // [[0,2],[4,6],[8,10]]
  ASSERT_FALSE(strided.is_contiguous());
  const std::string path = write([&](ResultGroup& g) {
    write_tensor(g, "t", transposed, {"col", "row"});
    write_tensor(g, "s", strided, {"row", "every_second_col"});  // one length per dim name
  });
  RawFile f(path);
  const auto t = raw_read(f.id, at_path("t"), H5T_NATIVE_INT64);
  EXPECT_EQ(t.shape, (std::vector<hsize_t>{4, 3}));
  EXPECT_EQ(t.size, 8u);
  EXPECT_EQ(raw_values<std::int64_t>(t), (std::vector<std::int64_t>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  const auto s = raw_read(f.id, at_path("s"), H5T_NATIVE_FLOAT);
  EXPECT_EQ(s.shape, (std::vector<hsize_t>{3, 2}));
  EXPECT_EQ(raw_values<float>(s), (std::vector<float>{0, 2, 4, 6, 8, 10}));
}

TEST_F(TensorStoreTest, IntegerBoolAndDoubleTypes) {
  const std::string path = write([&](ResultGroup& g) {
    write_tensor(g, "bool", at::tensor({1, 0, 1}, at::kLong).to(at::kBool), {"b"});  // 3, not 2 like `x`
    write_tensor(g, "i16", at::tensor({-300, 300}, at::kShort), {"x"});
    write_tensor(g, "i32", at::tensor({-5, 7}, at::kInt), {"x"});
    write_tensor(g, "f64", at::tensor({0.1, -1e200}, at::kDouble), {"x"});
    write_tensor(g, "scalar", at::scalar_tensor(2.5, at::kFloat), {});
  });
  RawFile f(path);
  auto b = raw_read(f.id, at_path("bool"), H5T_NATIVE_UINT8);
  EXPECT_EQ(b.size, 1u);
  EXPECT_FALSE(b.is_signed);
  EXPECT_EQ(raw_values<std::uint8_t>(b), (std::vector<std::uint8_t>{1, 0, 1}));
  auto i16 = raw_read(f.id, at_path("i16"), H5T_NATIVE_INT32);
  EXPECT_EQ(i16.size, 4u);
  EXPECT_EQ(raw_values<std::int32_t>(i16), (std::vector<std::int32_t>{-300, 300}));
  EXPECT_EQ(raw_values<std::int32_t>(raw_read(f.id, at_path("i32"), H5T_NATIVE_INT32)),
            (std::vector<std::int32_t>{-5, 7}));
  auto d = raw_read(f.id, at_path("f64"), H5T_NATIVE_DOUBLE);
  EXPECT_EQ(d.size, 8u);
  EXPECT_EQ(raw_values<double>(d), (std::vector<double>{0.1, -1e200}));
  auto s = raw_read(f.id, at_path("scalar"), H5T_NATIVE_FLOAT);
  EXPECT_TRUE(s.shape.empty());
  EXPECT_EQ(raw_values<float>(s), std::vector<float>{2.5f});
}

TEST_F(TensorStoreTest, WrongDimCountIsAnError) {
  auto run = open_run(file("t.h5"), false);
  auto g = run->analysis("t");
  EXPECT_THROW(write_tensor(*g, "x", at::zeros({2, 2}), {"only"}), Error);
  EXPECT_THROW(write_tensor(*g, "c", at::zeros({2}, at::kComplexFloat), {"x"}), Error);
}

}  // namespace
}  // namespace mechlens::store
