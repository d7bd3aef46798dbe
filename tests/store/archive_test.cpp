// Runs in one archive: appending keeps earlier runs, the `.partial` file
// protects the archive from crashes, and --resume continues the unfinished run.
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <regex>

#include "mechlens/abi.hpp"
#include "mechlens/error.hpp"
#include "store/archive.hpp"
#include "store_test_support.hpp"

namespace mechlens::store {
namespace {

namespace fs = std::filesystem;
using mechlens::testing::RawFile;
using mechlens::testing::raw_exists;
using mechlens::testing::raw_read;
using mechlens::testing::raw_read_strings;
using mechlens::testing::raw_string_attr;
using mechlens::testing::raw_values;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string attr(hid_t file, const std::string& object, const std::string& name) {
  const auto v = raw_string_attr(file, object, name);
  return v.empty() ? "" : v[0];
}

class ArchiveTest : public mechlens::testing::ScratchDir {
 protected:
  std::string archive() const { return file("results.h5"); }
  std::string partial() const { return file("results.h5.partial"); }

  // A finished run with dataset analyses/a/x = values.
  void finished_run(const std::vector<double>& values) {
    auto run = open_run(archive(), false);
    run->set_attr("recipe", std::string("[model]\nadapter = \"bert\"\n"));
    run->analysis("a")->write("x", {ElementType::f64, {static_cast<std::int64_t>(values.size())}, values.data()},
                              {"i"});
    run->finish();
  }
};

TEST_F(ArchiveTest, FinishedRunHasFormatStatusTimesAndVersion) {
  auto run = open_run(archive(), false);
  EXPECT_EQ(run->run_name(), "run_0001");
  EXPECT_FALSE(run->resumed());
  EXPECT_TRUE(fs::exists(partial()));
  EXPECT_FALSE(fs::exists(archive()));  // nothing at the final path until finished
  EXPECT_EQ(run->finish(), archive());
  EXPECT_TRUE(fs::exists(archive()));
  EXPECT_FALSE(fs::exists(partial()));

  RawFile f(archive());
  ASSERT_GE(f.id, 0);
  EXPECT_EQ(attr(f.id, "/", "format"), "mechlens-results");
  EXPECT_EQ(mechlens::testing::raw_numeric_attr<std::int64_t>(f.id, "/", "format_version", H5T_NATIVE_INT64),
            std::vector<std::int64_t>{1});
  const std::string r = "/runs/run_0001";
  EXPECT_EQ(attr(f.id, r, "status"), "complete");
  EXPECT_EQ(attr(f.id, r, "mechlens_version"), kVersion);
  const std::regex iso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
  EXPECT_TRUE(std::regex_match(attr(f.id, r, "started_at"), iso)) << attr(f.id, r, "started_at");
  EXPECT_TRUE(std::regex_match(attr(f.id, r, "finished_at"), iso)) << attr(f.id, r, "finished_at");
  EXPECT_LE(attr(f.id, r, "started_at"), attr(f.id, r, "finished_at"));
  EXPECT_FALSE(raw_exists(f.id, r + "/analyses"));  // created only when an analysis is
}

TEST_F(ArchiveTest, SecondRunKeepsTheFirstIntact) {
  finished_run({1.0, 2.0, 3.0});
  finished_run({4.0});
  RawFile f(archive());
  ASSERT_GE(f.id, 0);
  EXPECT_EQ(attr(f.id, "/runs/run_0001", "status"), "complete");
  EXPECT_EQ(attr(f.id, "/runs/run_0002", "status"), "complete");
  EXPECT_EQ(attr(f.id, "/runs/run_0001", "recipe"), "[model]\nadapter = \"bert\"\n");
  EXPECT_EQ(raw_values<double>(raw_read(f.id, "/runs/run_0001/analyses/a/x", H5T_NATIVE_DOUBLE)),
            (std::vector<double>{1.0, 2.0, 3.0}));
  EXPECT_EQ(raw_values<double>(raw_read(f.id, "/runs/run_0002/analyses/a/x", H5T_NATIVE_DOUBLE)),
            (std::vector<double>{4.0}));
  EXPECT_FALSE(raw_exists(f.id, "/runs/run_0003"));
}

TEST_F(ArchiveTest, NewRunTakesTheNumberAfterTheHighest) {
  finished_run({1.0});
  finished_run({2.0});
  {  // Renumber run_0002 -> run_0007 by hand, as if runs had been deleted and renamed.
    const hid_t f = H5Fopen(archive().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(H5Lmove(f, "/runs/run_0002", f, "/runs/run_0007", H5P_DEFAULT, H5P_DEFAULT), 0);
    H5Fclose(f);
  }
  auto run = open_run(archive(), false);
  EXPECT_EQ(run->run_name(), "run_0008");
}

TEST_F(ArchiveTest, ExistingPartialBlocksANewRunAndNamesResume) {
  finished_run({1.0});
  { auto run = open_run(archive(), false); }  // interrupted: destroyed without finish()
  ASSERT_TRUE(fs::exists(partial()));
  try {
    open_run(archive(), false);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(partial()), std::string::npos) << message;
    EXPECT_NE(message.find("--resume"), std::string::npos) << message;
  }
}

TEST_F(ArchiveTest, InterruptedRunLeavesArchiveUntouchedAndPartialReadable) {
  finished_run({1.0, 2.0});
  const std::string before = slurp(archive());
  {
    auto run = open_run(archive(), false);
    EXPECT_EQ(run->run_name(), "run_0002");
    auto a = run->analysis("a");
    const std::vector<double> v = {9.0, 8.0};
    a->write("x", {ElementType::f64, {2}, v.data()}, {"i"});
    a->mark_unit_done("input_0");  // flushes
  }  // dropped without finish(): the destructor only closes
  EXPECT_EQ(slurp(archive()), before);
  RawFile p(partial());
  ASSERT_GE(p.id, 0);
  EXPECT_EQ(attr(p.id, "/runs/run_0001", "status"), "complete");
  EXPECT_EQ(attr(p.id, "/runs/run_0002", "status"), "running");
  EXPECT_EQ(raw_values<double>(raw_read(p.id, "/runs/run_0002/analyses/a/x", H5T_NATIVE_DOUBLE)),
            (std::vector<double>{9.0, 8.0}));
}

TEST_F(ArchiveTest, ResumeContinuesTheRunningRun) {
  finished_run({1.0});
  {
    auto run = open_run(archive(), false);
    auto a = run->analysis("a");
    const std::vector<double> v = {5.0};
    a->write("input_0", {ElementType::f64, {1}, v.data()}, {"i"});
    a->mark_unit_done("input_0");
  }
  auto run = open_run(archive(), true);
  EXPECT_TRUE(run->resumed());
  EXPECT_EQ(run->run_name(), "run_0002");
  auto a = run->analysis("a");
  EXPECT_TRUE(a->unit_done("input_0"));
  EXPECT_FALSE(a->unit_done("input_1"));
  EXPECT_EQ(a->read_f64("input_0"), std::vector<double>{5.0});
  const std::vector<double> v = {6.0};
  a->write("input_1", {ElementType::f64, {1}, v.data()}, {"i"});
  a->mark_unit_done("input_1");
  run->finish();
  EXPECT_FALSE(fs::exists(partial()));

  RawFile f(archive());
  ASSERT_GE(f.id, 0);
  EXPECT_EQ(attr(f.id, "/runs/run_0001", "status"), "complete");
  EXPECT_EQ(attr(f.id, "/runs/run_0002", "status"), "complete");
  EXPECT_EQ(raw_string_attr(f.id, "/runs/run_0002", "resumed_at").size(), 1u);
  EXPECT_EQ(raw_read_strings(f.id, "/runs/run_0002/analyses/a/_units_done"),
            (std::vector<std::string>{"input_0", "input_1"}));
  EXPECT_FALSE(raw_exists(f.id, "/runs/run_0003"));
}

TEST_F(ArchiveTest, ResumeWithoutPartialOrRunningRunIsAnError) {
  try {
    open_run(archive(), true);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(partial()), std::string::npos) << e.what();
  }
  finished_run({1.0});
  fs::copy_file(archive(), partial());  // a .partial whose runs are all complete
  try {
    open_run(archive(), true);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("running"), std::string::npos) << e.what();
  }
}

TEST_F(ArchiveTest, RefusesToAppendToAFileThatIsNotAnArchive) {
  { std::ofstream(archive()) << "not hdf5 at all"; }
  try {
    open_run(archive(), false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(archive()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not an HDF5 file"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(partial()));
  EXPECT_EQ(slurp(archive()), "not hdf5 at all");

  fs::remove(archive());
  const hid_t f = H5Fcreate(archive().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);  // HDF5, but not ours
  H5Fclose(f);
  EXPECT_THROW(open_run(archive(), false), Error);
  EXPECT_FALSE(fs::exists(partial()));  // the failed attempt leaves nothing to --resume
}

// A real crash: the writer's process dies after a flushed unit, mid-way
// through the next one, without closing anything.
TEST_F(ArchiveTest, ProcessKilledMidRunLeavesArchiveIntactAndResumable) {
  finished_run({1.0});
  const std::string before = slurp(archive());
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      auto run = open_run(archive(), false);
      auto a = run->analysis("a");
      const std::vector<double> v(1000, 3.0);
      a->write("input_0", {ElementType::f64, {1000}, v.data()}, {"i"});
      a->mark_unit_done("input_0");
      a->write("input_1", {ElementType::f64, {1000}, v.data()}, {"i"});  // never flushed
    } catch (...) {
      _exit(2);
    }
    _exit(3);  // no destructors, no H5Fclose: as if killed
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 3);

  EXPECT_EQ(slurp(archive()), before);
  auto run = open_run(archive(), true);
  EXPECT_EQ(run->run_name(), "run_0002");
  auto a = run->analysis("a");
  EXPECT_TRUE(a->unit_done("input_0"));
  EXPECT_EQ(a->read_f64("input_0"), std::vector<double>(1000, 3.0));
  EXPECT_FALSE(a->unit_done("input_1"));
  const std::vector<double> v = {7.0};
  // Redo: overwrites whatever is there (its own dim: `i` has length 1000 in input_0).
  a->write("input_1", {ElementType::f64, {1}, v.data()}, {"j"});
  a->mark_unit_done("input_1");
  run->finish();
  RawFile f(archive());
  ASSERT_GE(f.id, 0);
  EXPECT_EQ(raw_values<double>(raw_read(f.id, "/runs/run_0002/analyses/a/input_1", H5T_NATIVE_DOUBLE)),
            std::vector<double>{7.0});
  EXPECT_EQ(raw_values<double>(raw_read(f.id, "/runs/run_0001/analyses/a/x", H5T_NATIVE_DOUBLE)),
            std::vector<double>{1.0});
}

}  // namespace
}  // namespace mechlens::store
