// Fault injection on the built binary (issue 9, "kept fixed"): a
// multi-analysis run is killed with SIGKILL at seeded random moments, then
// continued with --resume (or rerun, when the kill came before the
// `.partial` existed) until it completes; the archive must equal an
// uninterrupted run's dataset by dataset, bit for bit. A full disk (a file
// size limit: writes fail with EFBIG as they would with ENOSPC) must give
// one error line and a `.partial` that is resumable or removed, never a crash.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "host_test_support.hpp"
#include "subprocess.hpp"
#include "python_requirement.hpp"

namespace {

namespace fs = std::filesystem;
using namespace mechlens::testing;

class FaultInjection : public ::testing::Test {
 protected:
  void SetUp() override {
    MECHLENS_REQUIRE_PYTHON("h5py");
    recipe_ = write_good_recipe(dir_);
    // Three analyses: two of the test plugin and a real sweep with per-input units.
    write_file(recipe_, read_file(recipe_) +
                            "name = \"one\"\n\n[[analysis]]\nplugin = \"good\"\nname = \"two\"\nlabel = \"b\"\n\n"
                            "[[analysis]]\nplugin = \"sensitivity_matrix\"\nname = \"sens\"\n");
    out_ = dir_ / "out.h5";
  }
  std::string mechlens(const std::string& args) const {
    return "MECHLENS_PLUGIN_PATH=" + shell_quote(test_plugin_dir()) + " OMP_NUM_THREADS=1 " +
           shell_quote(mechlens_binary()) + " " + args;
  }
  CommandResult run(bool resume) const {
    return run_command(mechlens("run " + shell_quote(recipe_) + " --out " + shell_quote(out_) +
                                (resume ? " --resume" : "")));
  }
  CommandResult compare(const std::string& reference) const {
    return run_command("/usr/bin/python3 " + shell_quote(std::string(MECHLENS_SOURCE_DIR) + "/tests/host/compare_runs.py") +
                       " " + shell_quote(reference) + " " + shell_quote(out_));
  }

  ScratchDir dir_;
  std::string recipe_, out_;
  int runs_ = 1;
};

TEST_F(FaultInjection, KilledRunsResumeToTheUninterruptedResult) {
  // The reference, written at the same path (paths are part of the provenance).
  const auto start = std::chrono::steady_clock::now();
  auto r = run(false);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string reference = dir_ / "reference.h5";
  fs::rename(out_, reference);

  for (const unsigned seed : {1u, 2u, 3u, 4u, 5u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    // Kill somewhere in the run's second half (the first is process start and model load).
    std::uniform_real_distribution<double> when(0.4 * seconds, 1.1 * seconds);
    const double delay = when(rng);
    r = run_command("(" + mechlens("run " + shell_quote(recipe_) + " --out " + shell_quote(out_)) +
                    " >/dev/null 2>&1 & pid=$!; sleep " + std::to_string(delay) + "; kill -9 $pid 2>/dev/null; wait $pid)");
    int attempts = 0;
    while (!fs::exists(out_) && attempts++ < 3) {
      const bool resume = fs::exists(out_ + ".partial");
      r = run(resume);
      // Killed while HDF5 was writing, the `.partial` may not read back: the
      // first --resume then removes it (saying so) and a plain run follows.
      if (r.exit_code != 0) {
        EXPECT_TRUE(resume && r.output.find("the file was removed, run again without --resume") != std::string::npos)
            << "after a kill at " << delay << " s: " << r.output;
      }
    }
    ASSERT_TRUE(fs::exists(out_));
    EXPECT_FALSE(fs::exists(out_ + ".partial"));
    r = compare(reference);
    EXPECT_EQ(r.exit_code, 0) << "after a kill at " << delay << " s:\n" << r.output;
    fs::remove(out_);
  }
}

TEST_F(FaultInjection, FullDiskGivesOneLineAndAUsablePartial) {
  // bash's ulimit -f counts 1024-byte blocks; SIGXFSZ ignored so that writes
  // past the limit fail (EFBIG) instead of killing the process.
  for (const int kib : {8, 24, 40, 64}) {
    SCOPED_TRACE(std::to_string(kib) + " KiB");
    const auto r = run_command("bash -c " + shell_quote("trap '' XFSZ; ulimit -f " + std::to_string(kib) + "; " +
                                                        mechlens("run " + shell_quote(recipe_) + " --out " +
                                                                 shell_quote(out_))));
    if (r.exit_code == 0) {  // it fitted
      fs::remove(out_);
      continue;
    }
    EXPECT_EQ(r.exit_code, 1) << r.output;  // not a signal (a crash reads as -1 here)
    EXPECT_NE(r.output.find("mechlens: error: "), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("Segmentation"), std::string::npos) << r.output;
    if (fs::exists(out_ + ".partial")) {
      // Kept: then --resume must finish it once there is room.
      EXPECT_NE(r.output.find("--resume"), std::string::npos) << r.output;
      const auto resumed = run(true);
      EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
    } else {
      EXPECT_TRUE(r.output.find("removed") != std::string::npos || r.output.find(".partial") == std::string::npos)
          << r.output;
    }
    fs::remove(out_);
    fs::remove(out_ + ".partial");
  }
}

TEST_F(FaultInjection, ConcurrentWritersNeverLoseARun) {
  auto r = run(false);  // an archive to append to
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // Three runs started together on the same archive; each writes its exit code.
    std::string script;
    for (int k = 0; k < 3; ++k)
      script += "(" + mechlens("run " + shell_quote(recipe_) + " --out " + shell_quote(out_)) + " > " +
                shell_quote(dir_ / ("log" + std::to_string(k))) + " 2>&1; echo $? > " +
                shell_quote(dir_ / ("rc" + std::to_string(k))) + ") & ";
    run_command(script + "wait");
    int succeeded = 0;
    for (int k = 0; k < 3; ++k) {
      const std::string rc = read_file(dir_ / ("rc" + std::to_string(k)));
      const std::string log = read_file(dir_ / ("log" + std::to_string(k)));
      if (rc == "0\n") {
        ++succeeded;
        continue;
      }
      EXPECT_EQ(rc, "1\n") << log;
      EXPECT_NE(log.find("mechlens: error: "), std::string::npos) << log;
    }
    EXPECT_GE(succeeded, 1);
    EXPECT_FALSE(fs::exists(out_ + ".partial"));
    // Every run that said it succeeded is in the archive, complete.
    runs_ += succeeded;
    r = run_command("/usr/bin/python3 -c " +
                    shell_quote("import h5py,sys; f=h5py.File(sys.argv[1]); r=f['runs']; "
                                "print(len(r), all(r[k].attrs['status']=='complete' for k in r))") +
                    " " + shell_quote(out_));
    EXPECT_EQ(r.output, std::to_string(runs_) + " True\n");
  }
}

}  // namespace
