// A damaged archive is noticed: `mechlens verify` reads a real run's archive
// in full (exit 0), and reports a flipped byte in a stored matrix (its
// Fletcher32 checksum fails, in h5py too) or a truncated file with exit 1 and
// a message naming the file and the dataset.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "python_requirement.hpp"
#include "subprocess.hpp"
#include "tiny_bert.hpp"

namespace fs = std::filesystem;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;

namespace {

class ArchiveDamage : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mechlens-damage-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    mechlens::tiny::write_tiny_bert((dir_ / "tiny-bert").string(), {});
    std::ofstream(dir_ / "recipe.toml") << R"([experiment]
name = "damage"

[model]
adapter = "bert"
path = "tiny-bert"

[[inputs]]
id = "first"
text = "the cat sat on the [MASK] ."

[[analysis]]
plugin = "sensitivity_matrix"
)";
    const auto r = run_command(mechlens::testing::mechlens_binary() + " run " + shell_quote((dir_ / "recipe.toml").string()) +
                               " --out " + shell_quote(archive()));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string archive() const { return (dir_ / "out.h5").string(); }
  mechlens::testing::CommandResult verify() const {
    return run_command(mechlens::testing::mechlens_binary() + " verify " + shell_quote(archive()));
  }
  fs::path dir_;
};

constexpr const char* kKl = "/runs/run_0001/analyses/sensitivity_matrix/kl";

TEST_F(ArchiveDamage, IntactArchiveVerifies) {
  const auto r = verify();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(": ok ("), std::string::npos) << r.output;
}

TEST_F(ArchiveDamage, FlippedByteInAMatrixIsReportedByVerifyAndRefusedByH5py) {
  MECHLENS_REQUIRE_PYTHON("h5py");
  // Where the kl matrix's (single) chunk lies in the file, as h5py sees it.
  const auto where = run_command("/usr/bin/python3 -c \"import h5py, sys; f = h5py.File(sys.argv[1], 'r'); "
                                 "i = f[sys.argv[2]].id.get_chunk_info(0); print(i.byte_offset, i.size)\" " +
                                 shell_quote(archive()) + " " + kKl);
  ASSERT_EQ(where.exit_code, 0) << where.output;
  std::uint64_t offset = 0, size = 0;
  std::istringstream(where.output) >> offset >> size;
  ASSERT_GT(size, 8u);
  {
    std::fstream f(archive(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset + size / 2));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x01);  // one bit
    f.seekp(static_cast<std::streamoff>(offset + size / 2));
    f.write(&c, 1);
  }
  const auto r = verify();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("damaged"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(kKl), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Fletcher32"), std::string::npos) << r.output;
  // h5py refuses the chunk rather than returning a wrong number.
  const auto read = run_command("/usr/bin/python3 -c \"import h5py, sys; print(h5py.File(sys.argv[1], 'r')[sys.argv[2]][()])\" " +
                                shell_quote(archive()) + " " + kKl);
  EXPECT_NE(read.exit_code, 0) << read.output;
}

TEST_F(ArchiveDamage, TruncatedArchiveIsReported) {
  fs::resize_file(archive(), fs::file_size(archive()) * 3 / 4);
  const auto r = verify();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(archive()), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("truncated"), std::string::npos) << r.output;
}

}  // namespace
