// `mechlens inspect` text: runs, analyses, datasets with shapes, dims and dtypes.
#include <fstream>

#include "mechlens/error.hpp"
#include "store/archive.hpp"
#include "store_test_support.hpp"

namespace mechlens::store {
namespace {

class DescribeTest : public mechlens::testing::ScratchDir {};

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST_F(DescribeTest, ListsRunsAnalysesDatasetsShapesAndDims) {
  const std::string path = file("out.h5");
  {
    auto run = open_run(path, false);
    run->set_attr("recipe", std::string(500, '#') + "\n");
    run->group("model")->set_attr("adapter", std::string("bert"));
    auto a = run->analysis("sensitivity_matrix");
    a->set_attr("plugin_version", std::string("1.2.0"));
    const std::vector<float> m(2 * 4 * 4, 0.25f);
    const std::vector<std::int64_t> layer = {0, 1, 2, 3};
    a->write("layer", {ElementType::i64, {4}, layer.data()}, {"layer"});
    a->write("sensitivity", {ElementType::f32, {2, 4, 4}, m.data()}, {"input", "layer", "head"});
    a->write_strings("top", {"a", "b"}, "input");
    a->mark_unit_done("input_0");
    a->mark_unit_done("input_1");
    run->finish();
  }
  { open_run(path, false); }  // a second, interrupted run: only in the .partial

  const std::string text = describe(path);
  EXPECT_TRUE(has_line(text, "    sensitivity [input=2, layer=4, head=4] float32")) << text;
  EXPECT_TRUE(has_line(text, "    layer [layer=4] int64 (coordinate)")) << text;
  EXPECT_TRUE(has_line(text, "    top [input=2] string")) << text;
  EXPECT_NE(text.find("run_0001  status=complete  started_at=20"), std::string::npos) << text;
  EXPECT_NE(text.find("finished_at=20"), std::string::npos) << text;
  EXPECT_NE(text.find("recipe=<text, 501 bytes>"), std::string::npos) << text;
  EXPECT_NE(text.find("  model/  adapter=bert"), std::string::npos) << text;
  EXPECT_TRUE(has_line(text, "  analyses/sensitivity_matrix/  plugin_version=1.2.0  units_done=2")) << text;
  EXPECT_EQ(text.find("_units_done"), std::string::npos) << text;
  EXPECT_EQ(text.find("run_0002"), std::string::npos) << text;  // not finished: not in the archive
  EXPECT_NE(text.find("out.h5.partial holds an unfinished run"), std::string::npos) << text;
}

TEST_F(DescribeTest, NotHdf5OrMissingIsAnErrorNamingTheFile) {
  const std::string path = file("notes.txt");
  { std::ofstream(path) << "hello"; }
  try {
    describe(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not an HDF5 file"), std::string::npos) << e.what();
  }
  try {
    describe(file("absent.h5"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("absent.h5"), std::string::npos) << e.what();
  }
}

TEST_F(DescribeTest, ForeignHdf5FilesAreListedToo) {
  const std::string path = file("foreign.h5");
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t dims[2] = {3, 5};
  const hid_t space = H5Screate_simple(2, dims, nullptr);
  const hid_t ds = H5Dcreate2(f, "plain", H5T_STD_I16LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dclose(ds);
  H5Sclose(space);
  H5Fclose(f);
  EXPECT_TRUE(has_line(describe(path), "plain [3, 5] int16")) << describe(path);
}

}  // namespace
}  // namespace mechlens::store
