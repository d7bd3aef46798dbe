// GroupView over an archive (what `mechlens report` and the plugins' report
// functions read): listings, values with shapes and dims, attributes, paths
// with "..", and MissingData naming the file and path of what is absent.
#include "mechlens/archive_view.hpp"

#include <cmath>
#include <fstream>

#include "store/archive.hpp"
#include "store/archive_view.hpp"
#include "store_test_support.hpp"

namespace mechlens::store {
namespace {

class ArchiveViewTest : public mechlens::testing::ScratchDir {
 protected:
  void SetUp() override {
    ScratchDir::SetUp();
    auto run = open_run(file("r.h5"), false);
    auto inputs = run->group("inputs");
    inputs->write_strings("input", {"a", "b"}, "input");
    auto g = run->analysis("lens");
    const std::vector<double> m = {1, 2, 3, 4, 5, NAN};
    g->write("m", ArrayRef{ElementType::f64, {2, 3}, m.data()}, {"input", "k"});  // k: dimension-only scale
    const std::vector<std::int64_t> layer = {0, 1, 2};
    g->write("k", ArrayRef{ElementType::i64, {3}, layer.data()}, {"k"});
    g->write_strings("words", {"x", "y", "z", "w"}, {2, 2}, {"input", "pair"});
    g->set_attr("final_norm", std::int64_t{1});
    g->set_attr("findings", std::vector<std::string>{"one", "two"});
    g->mark_unit_done("unit_0");
    g->group("grids")->group("a")->write_strings("t", {"q"}, "one");
    run->finish();
  }
};

TEST_F(ArchiveViewTest, ReadsValuesShapesDimsAndAttributes) {
  const auto root = open_archive_view(file("r.h5"));
  EXPECT_EQ(root->text_attr("format"), "mechlens-results");
  const auto g = root->group("runs/run_0001/analyses/lens");
  EXPECT_EQ(g->path(), "/runs/run_0001/analyses/lens");
  // _units_done (the store's) and the dimension-only scales input, pair (no values) are not listed.
  const std::vector<std::string> expected = {"k", "m", "words"};
  EXPECT_EQ(g->datasets(), expected);
  EXPECT_EQ(g->groups(), std::vector<std::string>{"grids"});
  const ArrayView m = g->f64("m");
  EXPECT_EQ(m.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(m.dims, (std::vector<std::string>{"input", "k"}));
  EXPECT_EQ(m.values[4], 5.0);
  EXPECT_TRUE(std::isnan(m.values[5]));
  EXPECT_EQ(g->f64("k").values, (std::vector<double>{0, 1, 2}));
  EXPECT_TRUE(g->shape("k").is_coordinate);
  EXPECT_EQ(g->shape("words").dtype, "string");
  EXPECT_EQ(g->strings("words"), (std::vector<std::string>{"x", "y", "z", "w"}));
  EXPECT_EQ(g->number_attr("final_norm"), 1.0);
  EXPECT_EQ(g->texts_attr("findings"), (std::vector<std::string>{"one", "two"}));
  EXPECT_FALSE(g->attr("absent").has_value());
  EXPECT_EQ(g->text_attr("absent", "fallback"), "fallback");
}

TEST_F(ArchiveViewTest, PathsGoDownUpAndFromTheRoot) {
  const auto root = open_archive_view(file("r.h5"));
  const auto g = root->group("/runs/run_0001/analyses/lens");
  EXPECT_EQ(g->group("grids/a")->strings("t"), std::vector<std::string>{"q"});
  const auto inputs = g->group("../../inputs");
  EXPECT_EQ(inputs->path(), "/runs/run_0001/inputs");
  EXPECT_EQ(inputs->strings("input"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(g->has_group("../../inputs"));
  EXPECT_FALSE(g->has_group("../../nothing"));
  EXPECT_THROW(root->group(".."), MissingData);
}

TEST_F(ArchiveViewTest, MissingDataNamesFileAndPath) {
  const auto g = open_archive_view(file("r.h5"))->group("runs/run_0001/analyses/lens");
  EXPECT_FALSE(g->has_dataset("target_rank"));
  try {
    g->f64("target_rank");
    FAIL() << "no exception";
  } catch (const MissingData& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(file("r.h5")), std::string::npos) << message;
    EXPECT_NE(message.find("/runs/run_0001/analyses/lens/target_rank: no such dataset"), std::string::npos) << message;
  }
  EXPECT_THROW(g->strings("missing"), MissingData);
  EXPECT_THROW(g->shape("missing"), MissingData);
  EXPECT_THROW(g->group("grids/b"), MissingData);
  EXPECT_THROW(g->f64("words"), Error);  // strings are not numbers: an error, named
}

TEST_F(ArchiveViewTest, RefusesWhatIsNotAnArchive) {
  EXPECT_THROW(open_archive_view(file("none.h5")), Error);
  {
    std::ofstream out(file("text.h5"));
    out << "not hdf5";
  }
  try {
    open_archive_view(file("text.h5"));
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not an HDF5 file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mechlens::store
