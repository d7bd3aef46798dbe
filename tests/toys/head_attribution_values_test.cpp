// head_attribution's stored estimates, entry by entry, against an independent
// attribution patching: the float64 Qwen2 reference forward with PyTorch's
// autograd (tests/toys/reference_head_attribution.py), on the induction toy's
// recipe (experiments/toy/induction_head_attribution.toml, zero ablation).
// The toy's answer is saturated (p* ~ 0.9998), so the top1_prob_change
// estimates are small (largest 1.9e-3): float32 vs float64 differs by 6.6e-9
// there and by 6.4e-6 on logit_diff (largest 4.6); the tolerances, 1e-6 and
// 1e-4, keep a >= 15x margin and are far below the difference between heads.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "python_requirement.hpp"
#include "subprocess.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;

const std::string kToys = std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy";

TEST(HeadAttributionValues, EstimatesEqualAutogradOnTheFloat64Reference) {
  MECHLENS_REQUIRE_PYTHON("h5py", "torch");
  const fs::path dir = fs::temp_directory_path() / ("mechlens-attribution-values-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path archive = dir / "out.h5";
  const auto r = run_command(mechlens::testing::mechlens_binary() + " run " +
                             shell_quote(kToys + "/induction_head_attribution.toml") + " --out " +
                             shell_quote(archive.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto ref = run_command("/usr/bin/python3 " MECHLENS_SOURCE_DIR "/tests/toys/reference_head_attribution.py " +
                               shell_quote(archive.string()) + " " + shell_quote(kToys + "/models/induction") + " 2>&1");
  fs::remove_all(dir);
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  const json c = json::parse(ref.output);
  const std::map<std::string, double> tolerance = {{"top1_prob_change", 1e-6}, {"logit_diff", 1e-4}};
  for (const auto& [metric, tol] : tolerance) {
    const json& stored = c["metrics"][metric]["stored"];
    const json& want = c["metrics"][metric]["reference"];
    ASSERT_EQ(stored.size(), want.size()) << metric;
    ASSERT_EQ(stored.size(), 4u) << metric;
    double largest = 0;
    for (std::size_t i = 0; i < stored.size(); ++i)
      for (std::size_t l = 0; l < stored[i].size(); ++l)
        for (std::size_t h = 0; h < stored[i][l].size(); ++h) {
          EXPECT_NEAR(stored[i][l][h].get<double>(), want[i][l][h].get<double>(), tol)
              << metric << " input " << i << " layer " << l << " head " << h;
          largest = std::max(largest, std::abs(want[i][l][h].get<double>()));
        }
    EXPECT_GT(largest, 100 * tol) << metric << ": the comparison would be vacuous";
  }
}

}  // namespace
