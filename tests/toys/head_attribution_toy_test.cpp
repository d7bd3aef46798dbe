// Attribution patching against the exact sweep on the toy induction model,
// through the shipped recipe: the estimate must single out the planted
// induction head as the exact ablation does, and rank the heads alike.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "archive_dump.hpp"
#include "subprocess.hpp"
#include "python_requirement.hpp"

namespace fs = std::filesystem;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;
using mechlens::testing::dump_group;
using nlohmann::json;

namespace {

const std::string kToy = std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy";

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<std::size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < order.size(); ++i) r[order[i]] = static_cast<double>(i);
  return r;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const auto ra = ranks(a), rb = ranks(b);
  double d2 = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d2 += (ra[i] - rb[i]) * (ra[i] - rb[i]);
  const double n = static_cast<double>(a.size());
  return 1 - 6 * d2 / (n * (n * n - 1));
}

// Mean |value| per (layer, head) over inputs of an [input, layer, head] dataset.
std::vector<double> mean_abs(const json& d) {
  const int inputs = d["shape"][0], cells = d["shape"][1].get<int>() * d["shape"][2].get<int>();
  std::vector<double> out(cells);
  for (int i = 0; i < inputs; ++i)
    for (int c = 0; c < cells; ++c) out[c] += std::abs(d["values"][i * cells + c].get<double>()) / inputs;
  return out;
}

TEST(HeadAttributionToy, EstimateFindsTheInductionHeadAndRanksHeadsLikeTheExactSweep) {
  MECHLENS_REQUIRE_PYTHON("h5py");
  std::ifstream in(kToy + "/models/induction/mechanisms.json");
  const json planted = json::parse(in)["induction_head"];
  const fs::path dir = fs::temp_directory_path() / ("mechlens-attribution-toy-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path archive = dir / "out.h5";
  const auto r = run_command(mechlens::testing::mechlens_binary() + " run " +
                             shell_quote(kToy + "/induction_head_attribution.toml") + " --out " +
                             shell_quote(archive.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json exact = dump_group(archive, "runs/run_0001/analyses/exact");
  const json estimate = dump_group(archive, "runs/run_0001/analyses/attribution");
  const int n_heads = exact["top1_prob_change"]["shape"][2];
  EXPECT_EQ(estimate["@attrs"]["largest_layer"], planted["layer"]);
  EXPECT_EQ(estimate["@attrs"]["largest_head"], planted["head"]);
  EXPECT_EQ(exact["@attrs"]["largest_layer"], planted["layer"]);
  for (const char* metric : {"top1_prob_change", "logit_diff"}) {
    const auto a = mean_abs(estimate[metric]), e = mean_abs(exact[metric]);
    const int best = static_cast<int>(std::max_element(a.begin(), a.end()) - a.begin());
    const double rho = spearman(a, e);
    std::cout << metric << ": attribution's largest head " << best / n_heads << "." << best % n_heads
              << ", Spearman(attribution, exact) over the heads' mean |effect| = " << rho << "\n";
    EXPECT_GT(rho, 0.5) << metric;
    // The headline metric's estimate singles out the planted head. (On
    // logit_diff it does not: the first-order estimate of zeroing the
    // saturated induction head is far too small; verify_top is for that.)
    if (std::string(metric) == "top1_prob_change") {
      EXPECT_EQ(best, planted["layer"].get<int>() * n_heads + planted["head"].get<int>()) << metric;
    }
    // The verified heads' exact values are the exact sweep's.
    const auto& verified = estimate["exact_" + std::string(metric)]["values"];
    const auto& full = exact[metric]["values"];
    int checked = 0;
    for (std::size_t c = 0; c < verified.size(); ++c) {
      if (verified[c].is_null()) continue;
      EXPECT_NEAR(verified[c].get<double>(), full[c].get<double>(), 1e-4 * std::max(1.0, std::abs(full[c].get<double>())));
      ++checked;
    }
    EXPECT_EQ(checked, 3 * 4);  // 3 heads for each of the 4 inputs
  }
  fs::remove_all(dir);
}

}  // namespace
