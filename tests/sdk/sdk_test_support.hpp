#pragma once
// Shared by the SDK tests: a scratch folder per test, the scaffold's files,
// and the archive of the scaffold's example read back with h5py alone.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "subprocess.hpp"

namespace mechlens::testing {

namespace fs = std::filesystem;

// The templates `mechlens new-plugin` writes from (and the guide quotes).
inline fs::path scaffold_dir() { return fs::path(MECHLENS_SOURCE_DIR) / "framework/cli/new_plugin"; }

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fresh folder named for the running test, removed afterwards unless it failed.
class ScratchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mechlens-sdk-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  fs::path dir_;
};

// `read_entropy_archive.py ARCHIVE ANALYSIS` as JSON.
inline nlohmann::json read_entropy_archive(const fs::path& archive, const std::string& analysis) {
  const std::string script = std::string(MECHLENS_SOURCE_DIR) + "/tests/sdk/read_entropy_archive.py";
  const CommandResult r = run_command("/usr/bin/python3 " + shell_quote(script) + " " +
                                      shell_quote(archive.string()) + " " + shell_quote(analysis));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  if (r.exit_code != 0) return {};
  return nlohmann::json::parse(r.output);
}

// What the example must have written for the two inputs of its recipe, on
// the toy induction model (2 layers x 4 heads): entropies in nats within
// [0, log(keys seen)], coordinates attached, both units done, a finding.
inline void expect_entropy_results(const nlohmann::json& a) {
  ASSERT_TRUE(a.contains("datasets")) << a.dump();
  EXPECT_EQ(a["run_status"], "complete");
  EXPECT_EQ(a["units_done"], (std::vector<std::string>{"repeat_1", "repeat_2"}));
  const auto& e = a["datasets"]["entropy"];
  EXPECT_EQ(e["dims"], (std::vector<std::string>{"input", "layer", "head"}));
  EXPECT_EQ(e["shape"], (std::vector<int>{2, 2, 4}));
  EXPECT_EQ(e["coords"], (std::vector<std::string>{"input", "layer", "head"}));
  EXPECT_EQ(a["datasets"]["layer"]["values"], (std::vector<int>{0, 1}));
  EXPECT_EQ(a["datasets"]["input"]["values"], (std::vector<std::string>{"repeat_1", "repeat_2"}));
  const std::vector<int> tokens = a["input_tokens"];
  ASSERT_EQ(tokens.size(), 2u);
  double lowest = 1e9;
  for (int i = 0; i < 2; ++i)
    for (int l = 0; l < 2; ++l)
      for (int h = 0; h < 4; ++h) {
        ASSERT_TRUE(e["values"][i][l][h].is_number()) << "entropy not computed: " << i << " " << l << " " << h;
        const double v = e["values"][i][l][h];
        EXPECT_GE(v, 0.0);
        EXPECT_LE(v, std::log(static_cast<double>(tokens[i])) + 1e-9);  // the last query sees every token
        lowest = std::min(lowest, v);
      }
  // The toy's induction head attends to one token from the last position.
  EXPECT_LT(lowest, 0.1);
  const auto& change = a["datasets"]["focused_head_prob_change"];
  EXPECT_EQ(change["dims"], (std::vector<std::string>{"input"}));
  for (const auto& c : change["values"]) {
    ASSERT_TRUE(c.is_number());
    EXPECT_GE(c.get<double>(), -1.0);
    EXPECT_LE(c.get<double>(), 1.0);
  }
  ASSERT_EQ(a["findings"].size(), 1u);
  EXPECT_EQ(a["findings"][0].get<std::string>().rfind("most focused head: layer ", 0), 0u) << a["findings"][0];
}

}  // namespace mechlens::testing
