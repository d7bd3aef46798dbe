// Dimension scales as netCDF-4 lays them out (schemas/results.md §4.3), read
// back through the plain HDF5 C API: every axis of every dataset has a scale
// of its name in the dataset's own group (the coordinate when one was written,
// else a dimension-only scale), whichever is written first; one length per
// dimension name and group; the growable `unit` dimension of _units_done.
// xarray's own view of such a group is checked by the Python test at the end.
#include <limits>

#include "mechlens/error.hpp"
#include "store/archive.hpp"
#include "store_test_support.hpp"
#include "xarray_check.hpp"

namespace mechlens::store {
namespace {

using mechlens::testing::RawFile;
using mechlens::testing::raw_read;
using mechlens::testing::raw_read_strings;
using mechlens::testing::raw_string_attr;
using mechlens::testing::raw_values;

constexpr const char* kGroup = "/runs/run_0001/analyses/a";
constexpr const char* kDimensionOnly = "This is a netCDF dimension but not a netCDF variable.";

class ScaleTest : public mechlens::testing::ScratchDir {
 protected:
  template <typename Body>
  std::string write_archive(Body body) {
    const std::string path = file("out.h5");
    auto run = open_run(path, false);
    auto group = run->analysis("a");
    body(*group);
    EXPECT_EQ(run->finish(), path);
    return path;
  }
  static std::string at(const std::string& name) { return std::string(kGroup) + "/" + name; }

  static bool attached(hid_t file, const std::string& dataset, const std::string& scale, unsigned axis) {
    const hid_t ds = H5Dopen2(file, at(dataset).c_str(), H5P_DEFAULT);
    const hid_t sc = H5Dopen2(file, at(scale).c_str(), H5P_DEFAULT);
    const htri_t r = H5DSis_attached(ds, sc, axis);
    H5Dclose(sc);
    H5Dclose(ds);
    EXPECT_GE(r, 0) << dataset << " " << scale;
    return r > 0;
  }
  static int scales_on(hid_t file, const std::string& dataset, unsigned axis) {
    const hid_t ds = H5Dopen2(file, at(dataset).c_str(), H5P_DEFAULT);
    const int n = H5DSget_num_scales(ds, axis);
    H5Dclose(ds);
    return n;
  }
  // The scale's NAME ("" when not a scale).
  static std::string scale_name(hid_t file, const std::string& dataset) {
    const hid_t ds = H5Dopen2(file, at(dataset).c_str(), H5P_DEFAULT);
    std::string name;
    if (H5DSis_scale(ds) > 0) {
      char buffer[128] = {0};
      H5DSget_scale_name(ds, buffer, sizeof buffer);
      name = buffer;
    }
    H5Dclose(ds);
    return name;
  }
  static hsize_t length(hid_t file, const std::string& dataset) { return raw_read(file, at(dataset), H5T_NATIVE_DOUBLE).shape.at(0); }
  // Bytes allocated in the file for the dataset's data.
  static hsize_t storage(hid_t file, const std::string& dataset) {
    const hid_t ds = H5Dopen2(file, at(dataset).c_str(), H5P_DEFAULT);
    const hsize_t n = H5Dget_storage_size(ds);
    H5Dclose(ds);
    return n;
  }
  // Names of the datasets attached to a scale (its REFERENCE_LIST), via the C API.
  static int references(hid_t file, const std::string& scale) {
    const hid_t sc = H5Dopen2(file, at(scale).c_str(), H5P_DEFAULT);
    int n = 0;
    if (H5Aexists(sc, "REFERENCE_LIST") > 0) {
      const hid_t refs = H5Aopen(sc, "REFERENCE_LIST", H5P_DEFAULT);
      const hid_t space = H5Aget_space(refs);
      n = static_cast<int>(H5Sget_simple_extent_npoints(space));
      H5Sclose(space);
      H5Aclose(refs);
    }
    H5Dclose(sc);
    return n;
  }
  // The error message of `body`, "" if it did not throw mechlens::Error.
  template <typename Body>
  static std::string error_of(Body body) {
    try {
      body();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(ScaleTest, CoordinateWrittenBeforeOrAfterIsAttachedByName) {
  const std::vector<std::int64_t> layer = {0, 1, 2}, head = {0, 1, 2, 3};
  const std::vector<double> m(2 * 3 * 4, 0.5);
  const std::string path = write_archive([&](ResultGroup& g) {
    g.write("layer", {ElementType::i64, {3}, layer.data()}, {"layer"});  // before
    g.write("m", {ElementType::f64, {2, 3, 4}, m.data()}, {"input", "layer", "head"});
    g.write("head", {ElementType::i64, {4}, head.data()}, {"head"});  // after: replaces the dimension-only scale
  });
  RawFile f(path);
  EXPECT_EQ(scale_name(f.id, "layer"), "layer");
  EXPECT_EQ(scale_name(f.id, "head"), "head");
  EXPECT_EQ(scale_name(f.id, "m"), "");
  EXPECT_TRUE(attached(f.id, "m", "layer", 1));
  EXPECT_TRUE(attached(f.id, "m", "head", 2));
  EXPECT_FALSE(attached(f.id, "m", "layer", 2));
  for (unsigned axis = 0; axis < 3; ++axis) EXPECT_EQ(scales_on(f.id, "m", axis), 1) << axis;
  EXPECT_EQ(raw_values<std::int64_t>(raw_read(f.id, at("head"), H5T_NATIVE_INT64)), head);
  EXPECT_EQ(references(f.id, "head"), 1);
}

TEST_F(ScaleTest, DimWithoutCoordinateGetsADimensionOnlyScaleOfNoStorage) {
  const std::vector<float> logits(3 * 1000, 1.0f);
  const std::string path = write_archive([&](ResultGroup& g) {
    g.write("logits", {ElementType::f32, {3, 1000}, logits.data()}, {"pos", "vocab"});
    g.write_strings("tokens", {"a", "b", "c"}, "pos");  // reuses `pos`
  });
  RawFile f(path);
  for (const std::string dim : {"pos", "vocab"}) {
    const std::string name = scale_name(f.id, dim);
    EXPECT_EQ(name.rfind(kDimensionOnly, 0), 0u) << dim << ": " << name;
    EXPECT_EQ(raw_string_attr(f.id, at(dim), "dims"), std::vector<std::string>{dim});
    EXPECT_EQ(storage(f.id, dim), 0u) << dim << " should hold no values";
  }
  EXPECT_EQ(scale_name(f.id, "pos"), std::string(kDimensionOnly) + "         3");
  EXPECT_EQ(length(f.id, "pos"), 3u);
  EXPECT_EQ(length(f.id, "vocab"), 1000u);
  EXPECT_TRUE(attached(f.id, "logits", "pos", 0));
  EXPECT_TRUE(attached(f.id, "logits", "vocab", 1));
  EXPECT_TRUE(attached(f.id, "tokens", "pos", 0));
  EXPECT_EQ(references(f.id, "pos"), 2);
  H5Fclose(f.id);  // describe opens the file its own way
  f.id = -1;
  // inspect: the datasets' lines name the dims; the dimension-only scales are not listed.
  const std::string text = describe(path);
  EXPECT_NE(text.find("\n    logits [pos=3, vocab=1000] float32\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("    pos ["), std::string::npos) << text;
  EXPECT_EQ(text.find("    vocab ["), std::string::npos) << text;
}

TEST_F(ScaleTest, TwoLengthsOfOneDimensionAreAnErrorNamingBothDatasets) {
  const std::vector<double> v(20, 0.0);
  const std::vector<std::int64_t> head3 = {0, 1, 2};
  std::string path = file("out.h5");
  auto run = open_run(path, false);
  auto g = run->analysis("a");
  g->write("pattern", {ElementType::f64, {2, 5}, v.data()}, {"q_pos", "k_pos"});
  const std::string clash = error_of([&] { g->write("resid", {ElementType::f64, {4}, v.data()}, {"k_pos"}); });
  EXPECT_NE(clash.find("/analyses/a/resid"), std::string::npos) << clash;
  EXPECT_NE(clash.find("'k_pos'"), std::string::npos) << clash;
  EXPECT_NE(clash.find("length 4"), std::string::npos) << clash;
  EXPECT_NE(clash.find("length 5 in dataset 'pattern'"), std::string::npos) << clash;
  EXPECT_FALSE(g->has("resid"));
  // Against a coordinate, and a coordinate against the datasets using its dim.
  g->write("head", {ElementType::i64, {3}, head3.data()}, {"head"});
  const std::string against_coordinate =
      error_of([&] { g->write("m", {ElementType::f64, {4}, v.data()}, {"head"}); });
  EXPECT_NE(against_coordinate.find("length 3 in its coordinate 'head'"), std::string::npos) << against_coordinate;
  const std::string coordinate = error_of([&] { g->write("q_pos", {ElementType::f64, {3}, v.data()}, {"q_pos"}); });
  EXPECT_NE(coordinate.find("length 2 in dataset 'pattern'"), std::string::npos) << coordinate;
  // Within one dataset.
  EXPECT_NE(error_of([&] { g->write("sq", {ElementType::f64, {2, 3}, v.data()}, {"x", "x"}); }).find("two axes 'x'"),
            std::string::npos);
  // A square matrix may name one dim twice.
  g->write("sq", {ElementType::f64, {2, 2}, v.data()}, {"x", "x"});
  run->finish();
  RawFile f(path);
  EXPECT_TRUE(attached(f.id, "sq", "x", 0));
  EXPECT_TRUE(attached(f.id, "sq", "x", 1));
  EXPECT_EQ(length(f.id, "k_pos"), 5u);
}

TEST_F(ScaleTest, ADatasetNamedLikeADimensionMustBeItsCoordinate) {
  const std::vector<double> v(12, 0.0);
  auto run = open_run(file("out.h5"), false);
  auto g = run->analysis("a");
  g->write("m", {ElementType::f64, {3, 4}, v.data()}, {"layer", "head"});
  // `layer` is m's dimension (a dimension-only scale so far): not a name for other data.
  const std::string replaced = error_of([&] { g->write("layer", {ElementType::f64, {4}, v.data()}, {"x"}); });
  EXPECT_NE(replaced.find("scale of dimension 'layer', which dataset 'm' uses"), std::string::npos) << replaced;
  g->write("best", {ElementType::f64, {4}, v.data()}, {"x"});
  const std::string taken = error_of([&] { g->write("n", {ElementType::f64, {2}, v.data()}, {"best"}); });
  EXPECT_NE(taken.find("dataset 'best' of this group is not that dimension's coordinate"), std::string::npos) << taken;
  const std::string itself = error_of([&] { g->write("y", {ElementType::f64, {3, 4}, v.data()}, {"y", "head"}); });
  EXPECT_NE(itself.find("axis named like itself"), std::string::npos) << itself;
}

TEST_F(ScaleTest, OverwritingKeepsScalesConsistent) {
  const std::vector<std::int64_t> layer = {0, 1, 2};
  const std::vector<double> m(6, 1.0), m2(15, 2.0);
  std::string path = file("out.h5");
  auto run = open_run(path, false);
  auto g = run->analysis("a");
  g->write("layer", {ElementType::i64, {3}, layer.data()}, {"layer"});
  g->write("m", {ElementType::f64, {3, 2}, m.data()}, {"layer", "x"});
  g->write("n", {ElementType::f64, {3, 2}, m.data()}, {"layer", "x"});
  g->write("layer", {ElementType::i64, {3}, layer.data()}, {"layer"});  // coordinate rewritten
  g->write("m", {ElementType::f64, {3, 2}, m.data()}, {"layer", "x"});  // dataset rewritten
  // A redone unit may change a length no other dataset uses (here `y`), not one that `n` shares.
  g->write("o", {ElementType::f64, {3, 2}, m.data()}, {"layer", "y"});
  g->write("o", {ElementType::f64, {3, 5}, m2.data()}, {"layer", "y"});
  EXPECT_THROW(g->write("m", {ElementType::f64, {3, 5}, m2.data()}, {"layer", "x"}), Error);
  run->finish();
  RawFile f(path);
  EXPECT_TRUE(attached(f.id, "n", "layer", 0));
  EXPECT_TRUE(attached(f.id, "m", "layer", 0));
  EXPECT_TRUE(attached(f.id, "m", "x", 1));
  EXPECT_EQ(length(f.id, "y"), 5u);
  EXPECT_TRUE(attached(f.id, "o", "y", 1));
  EXPECT_EQ(raw_values<double>(raw_read(f.id, at("m"), H5T_NATIVE_DOUBLE)), m);  // the refused write kept it
  // The back-references list exactly the live datasets, none deleted.
  EXPECT_EQ(references(f.id, "layer"), 3);
  EXPECT_EQ(references(f.id, "x"), 2);
  EXPECT_EQ(references(f.id, "y"), 1);
}

TEST_F(ScaleTest, UnitsDoneHasAGrowableUnitDimension) {
  std::string path = write_archive([&](ResultGroup& g) {
    g.mark_unit_done("input_0");
    g.mark_unit_done("input_1");
    g.mark_unit_done("input_1");  // once only
    g.mark_unit_done("input_2");
  });
  RawFile f(path);
  EXPECT_EQ(raw_read_strings(f.id, at("_units_done")).size(), 3u);
  EXPECT_EQ(scale_name(f.id, "unit").rfind(kDimensionOnly, 0), 0u);
  EXPECT_EQ(length(f.id, "unit"), 3u);
  EXPECT_TRUE(attached(f.id, "_units_done", "unit", 0));
  EXPECT_EQ(references(f.id, "unit"), 1);
}

TEST_F(ScaleTest, RunsSayTheyFollowTheNetcdfConvention) {
  const std::string path = write_archive([](ResultGroup&) {});
  RawFile f(path);
  EXPECT_EQ(raw_string_attr(f.id, "/runs/run_0001", "dims_convention"), std::vector<std::string>{"netcdf-4"});
}

// What a user of xarray sees: every group opens (h5netcdf and netCDF4), dims
// named, coordinates with their values, dims without coordinates where none
// was written (tests/support/check_xarray_groups.py).
TEST_F(ScaleTest, XarrayOpensEveryGroupWithNamedDimsAndCoordinates) {
  MECHLENS_REQUIRE_XARRAY();
  const std::string path = file("out.h5");
  {
    auto run = open_run(path, false);
    auto inputs = run->group("inputs");
    inputs->write_strings("input", {"first", "sécond"}, "input");
    auto by_id = inputs->group("by_id")->group("first");
    const std::vector<std::int64_t> ids = {101, 7, 102};
    by_id->write("ids", {ElementType::i64, {3}, ids.data()}, {"pos"});
    auto a = run->analysis("a");
    a->write_strings("input", {"first", "sécond"}, "input");
    const std::vector<std::int64_t> layer = {0, 1, 2};
    std::vector<double> kl(2 * 3 * 4);
    for (std::size_t i = 0; i < kl.size(); ++i) kl[i] = static_cast<double>(i) / 7.0;
    kl[5] = std::numeric_limits<double>::quiet_NaN();
    a->write("kl", {ElementType::f64, {2, 3, 4}, kl.data()}, {"input", "layer", "head"});
    a->write("layer", {ElementType::i64, {3}, layer.data()}, {"layer"});
    const double total = 0.5;
    a->write("total", {ElementType::f64, {}, &total}, {});
    a->set_attr("findings", std::vector<std::string>{});
    a->set_attr("param.layers", std::vector<std::int64_t>{});
    a->mark_unit_done("input_0");
    auto sub = a->group("first");
    std::vector<float> pattern(2 * 3 * 3, 0.25f);
    sub->write("blocks.0.attn.hook_pattern", {ElementType::f32, {2, 3, 3}, pattern.data()}, {"head", "q_pos", "k_pos"});
    run->finish();
  }
  const auto result = mechlens::testing::check_archive_in_xarray(path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("\"analysis_groups\": [\"/runs/run_0001/analyses/a\"]"), std::string::npos)
      << result.output;
}

// An archive written before the convention (scales only where the group had
// a coordinate; written here with h5py as the store used to): mechlens still
// lists it and says it predates the convention; xarray cannot open it, and the
// check says so (so the check above is one that can fail).
TEST_F(ScaleTest, ArchivesFromBeforeTheConventionAreListedWithANote) {
  MECHLENS_REQUIRE_XARRAY();
  const std::string path = file("old.h5");
  const std::string script = R"(
import sys, h5py, numpy as np
s = h5py.string_dtype()
def named(ds, dims):
    ds.attrs["dims"] = np.array(dims, dtype=s)
with h5py.File(sys.argv[1], "w", libver=("v108", "v108")) as f:
    f.attrs["format"] = "mechlens-results"
    f.attrs["format_version"] = np.int64(1)
    run = f.create_group("runs/run_0001")
    run.attrs["status"] = "complete"
    run.attrs["mechlens_version"] = "0.1.0"
    ids = run.create_dataset("inputs/input", data=np.array(["a", "b"], dtype=object), dtype=s)
    named(ids, ["input"])
    ids.make_scale("input")
    a = run.create_group("analyses/sensitivity_matrix")
    layer = a.create_dataset("layer", data=np.arange(3))
    named(layer, ["layer"])
    layer.make_scale("layer")
    kl = a.create_dataset("kl", data=np.zeros((2, 3)))
    named(kl, ["input", "layer"])
    kl.dims[1].attach_scale(layer)
)";
  const auto written = mechlens::testing::run_command("/usr/bin/python3 -c " + mechlens::testing::shell_quote(script) +
                                                      " " + mechlens::testing::shell_quote(path));
  ASSERT_EQ(written.exit_code, 0) << written.output;
  const std::string text = describe(path);
  EXPECT_NE(text.find("\n    kl [input=2, layer=3] float64\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n    layer [layer=3] int64 (coordinate)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("note: run_0001 predates the netCDF-4 dimension convention"), std::string::npos) << text;
  const auto check = mechlens::testing::check_archive_in_xarray(path);
  EXPECT_EQ(check.exit_code, 1) << check.output;
  EXPECT_NE(check.output.find("/runs/run_0001/analyses/sensitivity_matrix (h5netcdf): xarray cannot open it"),
            std::string::npos)
      << check.output;
}

}  // namespace
}  // namespace mechlens::store
