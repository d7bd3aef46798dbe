// ResultGroup on HDF5: every element type, attribute kind, named dims,
// dimension scales, Unicode, overwrites and unit marks, read back through the
// plain HDF5 C API.
#include <cmath>
#include <cstring>
#include <limits>

#include "mechlens/error.hpp"
#include "store/archive.hpp"
#include "store_test_support.hpp"

namespace mechlens::store {
namespace {

using mechlens::testing::RawFile;
using mechlens::testing::raw_numeric_attr;
using mechlens::testing::raw_read;
using mechlens::testing::raw_read_strings;
using mechlens::testing::raw_string_attr;
using mechlens::testing::raw_values;

constexpr const char* kGroup = "/runs/run_0001/analyses/a";

class ResultGroupTest : public mechlens::testing::ScratchDir {
 protected:
  // Writes with `body`, finishes, and returns the archive path.
  template <typename Body>
  std::string write_archive(Body body) {
    const std::string path = file("out.h5");
    auto run = open_run(path, false);
    auto group = run->analysis("a");
    body(*group);
    EXPECT_EQ(run->finish(), path);
    return path;
  }
};

TEST_F(ResultGroupTest, EveryElementTypeRoundTrips) {
  const std::vector<float> f32 = {1.5f, -0.0f, std::numeric_limits<float>::infinity(), 3e-38f, 7.0f, -2.25f};
  const std::vector<double> f64 = {M_PI, -1e300, std::nan(""), 0.1};
  const std::vector<std::int64_t> i64 = {std::numeric_limits<std::int64_t>::min(), -1, 0,
                                         std::numeric_limits<std::int64_t>::max()};
  const std::vector<std::int32_t> i32 = {-2147483647 - 1, 5, 2147483647};
  const std::vector<std::uint8_t> u8 = {0, 1, 2, 255};
  const std::string path = write_archive([&](ResultGroup& g) {
    g.write("f32", {ElementType::f32, {2, 3}, f32.data()}, {"row", "col"});
    g.write("f64", {ElementType::f64, {4}, f64.data()}, {"x"});
    g.write("i64", {ElementType::i64, {2, 2}, i64.data()}, {"a", "b"});
    g.write("i32", {ElementType::i32, {3}, i32.data()}, {"x3"});
    g.write("u8", {ElementType::u8, {1, 4}, u8.data()}, {"one", "four"});
    const double scalar = 42.5;
    g.write("scalar", {ElementType::f64, {}, &scalar}, {});
  });
  RawFile f(path);
  ASSERT_GE(f.id, 0);
  const std::string g = kGroup;

  auto a = raw_read(f.id, g + "/f32", H5T_NATIVE_FLOAT);
  EXPECT_EQ(a.cls, H5T_FLOAT);
  EXPECT_EQ(a.size, 4u);
  EXPECT_EQ(a.shape, (std::vector<hsize_t>{2, 3}));
  const auto f32_back = raw_values<float>(a);
  ASSERT_EQ(f32_back.size(), f32.size());
  for (std::size_t i = 0; i < f32.size(); ++i) EXPECT_EQ(std::memcmp(&f32_back[i], &f32[i], 4), 0) << i;

  a = raw_read(f.id, g + "/f64", H5T_NATIVE_DOUBLE);
  EXPECT_EQ(a.cls, H5T_FLOAT);
  EXPECT_EQ(a.size, 8u);
  const auto f64_back = raw_values<double>(a);
  ASSERT_EQ(f64_back.size(), 4u);
  EXPECT_EQ(f64_back[0], M_PI);
  EXPECT_EQ(f64_back[1], -1e300);
  EXPECT_TRUE(std::isnan(f64_back[2]));
  EXPECT_EQ(f64_back[3], 0.1);

  a = raw_read(f.id, g + "/i64", H5T_NATIVE_INT64);
  EXPECT_EQ(a.cls, H5T_INTEGER);
  EXPECT_EQ(a.size, 8u);
  EXPECT_TRUE(a.is_signed);
  EXPECT_EQ(raw_values<std::int64_t>(a), i64);

  a = raw_read(f.id, g + "/i32", H5T_NATIVE_INT32);
  EXPECT_EQ(a.size, 4u);
  EXPECT_TRUE(a.is_signed);
  EXPECT_EQ(raw_values<std::int32_t>(a), i32);

  a = raw_read(f.id, g + "/u8", H5T_NATIVE_UINT8);
  EXPECT_EQ(a.cls, H5T_INTEGER);
  EXPECT_EQ(a.size, 1u);
  EXPECT_FALSE(a.is_signed);
  EXPECT_EQ(a.shape, (std::vector<hsize_t>{1, 4}));
  EXPECT_EQ(raw_values<std::uint8_t>(a), u8);

  a = raw_read(f.id, g + "/scalar", H5T_NATIVE_DOUBLE);
  EXPECT_TRUE(a.shape.empty());
  EXPECT_EQ(raw_values<double>(a), std::vector<double>{42.5});
}

TEST_F(ResultGroupTest, ReadF64ConvertsEveryNumericType) {
  const std::string path = file("out.h5");
  auto run = open_run(path, false);
  auto g = run->analysis("a");
  const std::vector<std::int64_t> i64 = {-3, 9007199254740992};
  const std::vector<std::uint8_t> u8 = {7, 200};
  const std::vector<float> f32 = {0.5f, -1.25f};
  g->write("i64", {ElementType::i64, {2}, i64.data()}, {"x"});
  g->write("u8", {ElementType::u8, {2}, u8.data()}, {"x"});
  g->write("f32", {ElementType::f32, {1, 2}, f32.data()}, {"y", "x"});
  EXPECT_EQ(g->read_f64("i64"), (std::vector<double>{-3.0, 9007199254740992.0}));
  EXPECT_EQ(g->read_f64("u8"), (std::vector<double>{7.0, 200.0}));
  EXPECT_EQ(g->read_f64("f32"), (std::vector<double>{0.5, -1.25}));
  g->write_strings("s", {"a"}, "one");  // `x` has length 2 here
  EXPECT_THROW(g->read_f64("s"), Error);
  try {
    g->read_f64("missing");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("analyses/a/missing"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("out.h5.partial"), std::string::npos) << e.what();
  }
}

TEST_F(ResultGroupTest, EveryAttributeKindRoundTrips) {
  const std::string path = write_archive([](ResultGroup& g) {
    g.set_attr("s", std::string("hello"));
    g.set_attr("i", std::int64_t{-1234567890123});
    g.set_attr("d", 0.125);
    g.set_attr("vi", std::vector<std::int64_t>{1, -2, 3});
    g.set_attr("vd", std::vector<double>{1.5, -2.5});
    g.set_attr("vs", std::vector<std::string>{"a", "", "ünï"});
    g.set_attr("empty", std::vector<std::int64_t>{});
    g.set_attr("replaced", std::string("first"));
    g.set_attr("replaced", std::int64_t{2});  // another kind under the same name
    g.set_attr("long", std::string(100000, 'x'));  // past HDF5's 64 KiB compact-attribute limit
  });
  RawFile f(path);
  EXPECT_EQ(raw_string_attr(f.id, kGroup, "s"), std::vector<std::string>{"hello"});
  H5S_class_t cls{};
  EXPECT_EQ(raw_numeric_attr<std::int64_t>(f.id, kGroup, "i", H5T_NATIVE_INT64, &cls),
            std::vector<std::int64_t>{-1234567890123});
  EXPECT_EQ(cls, H5S_SCALAR);
  EXPECT_EQ(raw_numeric_attr<double>(f.id, kGroup, "d", H5T_NATIVE_DOUBLE, &cls), std::vector<double>{0.125});
  EXPECT_EQ(cls, H5S_SCALAR);
  EXPECT_EQ(raw_numeric_attr<std::int64_t>(f.id, kGroup, "vi", H5T_NATIVE_INT64, &cls),
            (std::vector<std::int64_t>{1, -2, 3}));
  EXPECT_EQ(cls, H5S_SIMPLE);
  EXPECT_EQ(raw_numeric_attr<double>(f.id, kGroup, "vd", H5T_NATIVE_DOUBLE), (std::vector<double>{1.5, -2.5}));
  EXPECT_EQ(raw_string_attr(f.id, kGroup, "vs"), (std::vector<std::string>{"a", "", "ünï"}));
  EXPECT_TRUE(raw_numeric_attr<std::int64_t>(f.id, kGroup, "empty", H5T_NATIVE_INT64).empty());
  EXPECT_EQ(raw_numeric_attr<std::int64_t>(f.id, kGroup, "replaced", H5T_NATIVE_INT64),
            std::vector<std::int64_t>{2});
  EXPECT_EQ(raw_string_attr(f.id, kGroup, "long").at(0).size(), 100000u);

  // Integer attributes are 64-bit signed in the file, doubles 64-bit floats.
  const hid_t attr = H5Aopen_by_name(f.id, kGroup, "i", H5P_DEFAULT, H5P_DEFAULT);
  const hid_t type = H5Aget_type(attr);
  EXPECT_EQ(H5Tget_class(type), H5T_INTEGER);
  EXPECT_EQ(H5Tget_size(type), 8u);
  EXPECT_EQ(H5Tget_sign(type), H5T_SGN_2);
  H5Tclose(type);
  H5Aclose(attr);
}

TEST_F(ResultGroupTest, DimsAttributeAndLabelsNameEveryAxis) {
  const std::vector<float> v(24, 1.0f);
  const std::string path = write_archive([&](ResultGroup& g) {
    g.write("m", {ElementType::f32, {2, 3, 4}, v.data()}, {"input", "layer", "head"});
    g.write_strings("tokens", {"a", "b"}, "pos");
  });
  RawFile f(path);
  const std::string m = std::string(kGroup) + "/m";
  EXPECT_EQ(raw_string_attr(f.id, m, "dims"), (std::vector<std::string>{"input", "layer", "head"}));
  EXPECT_EQ(raw_string_attr(f.id, std::string(kGroup) + "/tokens", "dims"), std::vector<std::string>{"pos"});
  const hid_t ds = H5Dopen2(f.id, m.c_str(), H5P_DEFAULT);
  const std::vector<std::string> expected = {"input", "layer", "head"};
  for (unsigned i = 0; i < 3; ++i) {
    char label[64] = {0};
    ASSERT_GT(H5DSget_label(ds, i, label, sizeof label), 0);
    EXPECT_EQ(std::string(label), expected[i]);
  }
  H5Dclose(ds);
}

TEST_F(ResultGroupTest, WrongDimsAndNamesAreErrorsNamingTheDataset) {
  const std::string path = file("out.h5");
  auto run = open_run(path, false);
  auto g = run->analysis("a");
  const std::vector<float> v(6, 0.0f);
  try {
    g->write("m", {ElementType::f32, {2, 3}, v.data()}, {"only_one"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/runs/run_0001/analyses/a/m"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("rank-2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(g->write("a/b", {ElementType::f32, {6}, v.data()}, {"x"}), Error);
  EXPECT_THROW(g->write("m", {ElementType::f32, {6}, v.data()}, {""}), Error);
  EXPECT_THROW(g->group(""), Error);
  EXPECT_FALSE(g->has("m"));
}

// Dimension scales: dimension_scales_test.cpp.

TEST_F(ResultGroupTest, UnicodeStringsRoundTrip) {
  const std::vector<std::string> tokens = {"héllo", "世界", "🙂", "", "Ġthe", "ä\u0308", "\u00a0tab\tnl\n"};
  const std::string path = write_archive([&](ResultGroup& g) {
    g.write_strings("tokens", tokens, "pos");
    g.set_attr("title", std::string("Ünïcödé ✓ 日本語"));
  });
  RawFile f(path);
  EXPECT_EQ(raw_read_strings(f.id, std::string(kGroup) + "/tokens"), tokens);
  EXPECT_EQ(raw_string_attr(f.id, kGroup, "title"), std::vector<std::string>{"Ünïcödé ✓ 日本語"});
}

TEST_F(ResultGroupTest, InvalidUtf8IsRefused) {
  auto run = open_run(file("out.h5"), false);
  auto g = run->analysis("a");
  EXPECT_THROW(g->write_strings("t", {"ok", std::string("\xff\xfe")}, "pos"), Error);
  EXPECT_THROW(g->set_attr("t", std::string("\xc0\xaf")), Error);  // overlong '/'
  EXPECT_THROW(g->set_attr("t", std::string("\xed\xa0\x80")), Error);  // surrogate
  EXPECT_NO_THROW(g->set_attr("t", std::string("\xf0\x9f\x99\x82")));
}

TEST_F(ResultGroupTest, OverwriteReplacesDatasetOfAnotherShapeAndType) {
  const std::vector<float> a = {1, 2, 3};
  const std::vector<std::int64_t> b = {7, 8, 9, 10};
  const std::string path = write_archive([&](ResultGroup& g) {
    g.write("x", {ElementType::f32, {3}, a.data()}, {"p"});
    g.write("x", {ElementType::i64, {2, 2}, b.data()}, {"q", "r"});
  });
  RawFile f(path);
  const auto back = raw_read(f.id, std::string(kGroup) + "/x", H5T_NATIVE_INT64);
  EXPECT_EQ(back.cls, H5T_INTEGER);
  EXPECT_EQ(back.shape, (std::vector<hsize_t>{2, 2}));
  EXPECT_EQ(raw_values<std::int64_t>(back), b);
  EXPECT_EQ(raw_string_attr(f.id, std::string(kGroup) + "/x", "dims"), (std::vector<std::string>{"q", "r"}));
}

TEST_F(ResultGroupTest, LargeDatasetsAreChunkedAndCompressed) {
  std::vector<float> big(512 * 1024);  // 2 MiB
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i % 1000) * 0.5f;
  const std::vector<float> small(16, 1.0f);
  const double scalar = 2.5;
  const std::string path = write_archive([&](ResultGroup& g) {
    g.write("big", {ElementType::f32, {512, 1024}, big.data()}, {"pos", "d_model"});
    g.write("small", {ElementType::f32, {16}, small.data()}, {"x"});
    g.write("scalar", {ElementType::f64, {}, &scalar}, {});
    g.write_strings("names", {"a", "b"}, "name");
  });
  RawFile f(path);
  // The dataset's layout and its filter pipeline, in order.
  auto layout_of = [&](const std::string& name, std::vector<H5Z_filter_t>* filters) {
    const hid_t ds = H5Dopen2(f.id, (std::string(kGroup) + "/" + name).c_str(), H5P_DEFAULT);
    const hid_t dcpl = H5Dget_create_plist(ds);
    const H5D_layout_t layout = H5Pget_layout(dcpl);
    filters->clear();
    for (int i = 0; i < H5Pget_nfilters(dcpl); ++i) {
      unsigned flags = 0, config = 0;
      size_t n = 0;
      char name_buf[32];
      filters->push_back(
          H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &n, nullptr, sizeof name_buf, name_buf, &config));
    }
    H5Pclose(dcpl);
    H5Dclose(ds);
    return layout;
  };
  std::vector<H5Z_filter_t> filters;
  EXPECT_EQ(layout_of("big", &filters), H5D_CHUNKED);
  // Checksum last, so it covers the compressed bytes as stored.
  EXPECT_EQ(filters, (std::vector<H5Z_filter_t>{H5Z_FILTER_SHUFFLE, H5Z_FILTER_DEFLATE, H5Z_FILTER_FLETCHER32}));
  // Small numeric datasets are one checksummed chunk, uncompressed.
  EXPECT_EQ(layout_of("small", &filters), H5D_CHUNKED);
  EXPECT_EQ(filters, (std::vector<H5Z_filter_t>{H5Z_FILTER_FLETCHER32}));
  // HDF5 cannot chunk a scalar nor filter variable-length strings.
  EXPECT_EQ(layout_of("scalar", &filters), H5D_CONTIGUOUS);
  EXPECT_TRUE(filters.empty());
  EXPECT_EQ(layout_of("names", &filters), H5D_CONTIGUOUS);
  EXPECT_TRUE(filters.empty());
  EXPECT_EQ(raw_values<float>(raw_read(f.id, std::string(kGroup) + "/big", H5T_NATIVE_FLOAT)), big);
  EXPECT_EQ(raw_values<float>(raw_read(f.id, std::string(kGroup) + "/small", H5T_NATIVE_FLOAT)), small);
  // Compression did something: the file is well under the raw 2 MiB.
  EXPECT_LT(std::filesystem::file_size(path), 1u << 20);
}

TEST_F(ResultGroupTest, GroupsAndHas) {
  const std::string path = file("out.h5");
  auto run = open_run(path, false);
  auto g = run->analysis("a");
  EXPECT_EQ(g->path(), kGroup);
  auto sub = g->group("input_0");
  EXPECT_EQ(sub->path(), std::string(kGroup) + "/input_0");
  auto again = g->group("input_0");  // opening twice is fine
  const std::int64_t one = 1;
  sub->write("v", {ElementType::i64, {}, &one}, {});
  g->set_attr("k", std::string("v"));
  EXPECT_TRUE(g->has("input_0"));
  EXPECT_TRUE(g->has("k"));
  EXPECT_FALSE(g->has("v"));
  EXPECT_TRUE(again->has("v"));
  EXPECT_THROW(sub->group("v"), Error);  // a dataset is not a group
  auto inputs = run->group("inputs");
  EXPECT_EQ(inputs->path(), "/runs/run_0001/inputs");
}

TEST_F(ResultGroupTest, UnitsAreMarkedPerGroup) {
  const std::string path = file("out.h5");
  auto run = open_run(path, false);
  auto a = run->analysis("a");
  auto b = run->analysis("b");
  EXPECT_FALSE(a->unit_done("input_0"));
  a->mark_unit_done("input_0");
  a->mark_unit_done("input_0");  // idempotent
  a->mark_unit_done("ünit/with slash");
  EXPECT_TRUE(a->unit_done("input_0"));
  EXPECT_TRUE(a->unit_done("ünit/with slash"));
  EXPECT_FALSE(a->unit_done("input_1"));
  EXPECT_FALSE(b->unit_done("input_0"));
  run->finish();
  RawFile f(path);
  EXPECT_EQ(raw_read_strings(f.id, "/runs/run_0001/analyses/a/_units_done"),
            (std::vector<std::string>{"input_0", "ünit/with slash"}));
}

TEST_F(ResultGroupTest, GroupUsedAfterFinishIsAnError) {
  const std::string path = file("out.h5");
  auto run = open_run(path, false);
  auto a = run->analysis("a");
  run->finish();
  const double x = 1;
  EXPECT_THROW(a->write("x", {ElementType::f64, {}, &x}, {}), Error);
}

}  // namespace
}  // namespace mechlens::store

namespace mechlens::store {
namespace {

// Groups open HDF5 objects per operation only: none may stay open between
// calls (or after an error), else finish() could not really close the file.
TEST_F(ResultGroupTest, NoHdf5ObjectStaysOpenBetweenCalls) {
  auto open_objects = [] {
    return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_ATTR | H5F_OBJ_DATATYPE);
  };
  auto run = open_run(file("out.h5"), false);
  auto g = run->analysis("a");
  const std::vector<std::int64_t> layer = {0, 1};
  const std::vector<double> m(4, 1.0);
  g->write("layer", {ElementType::i64, {2}, layer.data()}, {"layer"});
  g->write("m", {ElementType::f64, {2, 2}, m.data()}, {"layer", "x"});
  g->write("m", {ElementType::f64, {2, 2}, m.data()}, {"layer", "x"});
  g->write_strings("s", {"a"}, "one");  // `x` has length 2 here
  g->set_attr("k", std::vector<std::string>{"v"});
  g->mark_unit_done("u");
  EXPECT_TRUE(g->unit_done("u"));
  EXPECT_EQ(g->read_f64("m").size(), 4u);
  EXPECT_THROW(g->read_f64("s"), Error);
  EXPECT_THROW(g->write("bad", {ElementType::f64, {2}, m.data()}, {"a", "b"}), Error);
  EXPECT_THROW(g->group("m"), Error);
  EXPECT_EQ(open_objects(), 0);
  EXPECT_NE(describe(file("out.h5.partial")).find("m [layer=2, x=2] float64"), std::string::npos);
  EXPECT_EQ(open_objects(), 0);
}

}  // namespace
}  // namespace mechlens::store
