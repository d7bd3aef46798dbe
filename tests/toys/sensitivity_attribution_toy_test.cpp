// sensitivity_matrix with method = "attribution" (issue 14) on the toy
// induction model: its estimate is head_attribution's (the same attribution
// patching), it puts the planted induction head first as the exact sweep
// does, kl (no first-order term) is NaN except where verified, the verified
// heads' exact values are the exact sweep's, and the agreement is stored.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "archive_dump.hpp"
#include "python_requirement.hpp"
#include "subprocess.hpp"

namespace fs = std::filesystem;
using mechlens::testing::dump_group;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;
using nlohmann::json;

namespace {

const std::string kToy = std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy";

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  auto ranks = [](const std::vector<double>& v) {
    std::vector<std::size_t> order(v.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return v[i] < v[j]; });
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < order.size(); ++i) r[order[i]] = static_cast<double>(i);
    return r;
  };
  const auto ra = ranks(a), rb = ranks(b);
  double d2 = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d2 += (ra[i] - rb[i]) * (ra[i] - rb[i]);
  const double n = static_cast<double>(a.size());
  return 1 - 6 * d2 / (n * (n * n - 1));
}

std::vector<double> mean_abs(const json& d) {
  const int inputs = d["shape"][0], cells = d["shape"][1].get<int>() * d["shape"][2].get<int>();
  std::vector<double> out(cells);
  for (int i = 0; i < inputs; ++i)
    for (int c = 0; c < cells; ++c) out[c] += std::abs(d["values"][i * cells + c].get<double>()) / inputs;
  return out;
}

TEST(SensitivityAttributionToy, EstimateIsHeadAttributionsAndVerifiedHeadsAreExact) {
  MECHLENS_REQUIRE_PYTHON("h5py");
  std::ifstream in(kToy + "/models/induction/mechanisms.json");
  const json planted = json::parse(in)["induction_head"];
  const fs::path dir = fs::temp_directory_path() / ("mechlens-sensitivity-attribution-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  // The shipped recipe's model and inputs, with sensitivity_matrix run both ways.
  std::ifstream shipped(kToy + "/induction_head_attribution.toml");
  std::string recipe((std::istreambuf_iterator<char>(shipped)), std::istreambuf_iterator<char>());
  recipe = recipe.substr(0, recipe.find("[[analysis]]"));
  recipe.replace(recipe.find("\"models/induction\""), 18, "\"" + kToy + "/models/induction\"");
  recipe += R"(
[[analysis]]
plugin = "sensitivity_matrix"
name = "exact"
metrics = ["top1_prob_change", "kl", "logit_diff"]

[[analysis]]
plugin = "sensitivity_matrix"
name = "estimate"
method = "attribution"
verify_top = 3
metrics = ["top1_prob_change", "kl", "logit_diff"]

[[analysis]]
plugin = "head_attribution"
name = "standalone"
metrics = ["top1_prob_change", "logit_diff"]
)";
  std::ofstream(dir / "recipe.toml") << recipe;
  const fs::path archive = dir / "out.h5";
  const auto r = run_command(mechlens::testing::mechlens_binary() + " run " + shell_quote((dir / "recipe.toml").string()) +
                             " --out " + shell_quote(archive.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json exact = dump_group(archive, "runs/run_0001/analyses/exact");
  const json estimate = dump_group(archive, "runs/run_0001/analyses/estimate");
  const json standalone = dump_group(archive, "runs/run_0001/analyses/standalone");
  EXPECT_EQ(estimate["@attrs"]["method"], "attribution");
  EXPECT_EQ(estimate["@attrs"]["largest_layer"], planted["layer"]);
  EXPECT_EQ(estimate["@attrs"]["largest_head"], planted["head"]);
  const int n_heads = exact["kl"]["shape"][2];

  for (const char* metric : {"top1_prob_change", "logit_diff"}) {
    const auto& mine = estimate[metric]["values"];
    const auto& theirs = standalone[metric]["values"];
    ASSERT_EQ(mine.size(), theirs.size());
    for (std::size_t c = 0; c < mine.size(); ++c)
      EXPECT_NEAR(mine[c].get<double>(), theirs[c].get<double>(), 1e-9) << metric << " cell " << c;
    const double rho = spearman(mean_abs(estimate[metric]), mean_abs(exact[metric]));
    std::cout << metric << ": Spearman(attribution, exact) over the heads' mean |effect| = " << rho << "\n";
    EXPECT_GT(rho, 0.5) << metric;
    EXPECT_TRUE(estimate["@attrs"].contains("agreement_spearman_" + std::string(metric))) << metric;
    EXPECT_TRUE(estimate["@attrs"].contains("agreement_max_abs_error_" + std::string(metric))) << metric;
  }
  // kl: no estimate; the verified heads carry the exact value.
  for (const auto& v : estimate["kl"]["values"]) EXPECT_TRUE(v.is_null());
  for (const char* metric : {"top1_prob_change", "kl", "logit_diff"}) {
    const auto& verified = estimate["exact_" + std::string(metric)]["values"];
    const auto& full = exact[metric]["values"];
    int checked = 0;
    for (std::size_t c = 0; c < verified.size(); ++c) {
      if (verified[c].is_null()) continue;
      EXPECT_NEAR(verified[c].get<double>(), full[c].get<double>(), 1e-4 * std::max(1.0, std::abs(full[c].get<double>())))
          << metric << " cell " << c;
      ++checked;
    }
    EXPECT_EQ(checked, 3 * 4) << metric;  // 3 heads for each of the 4 inputs
  }
  // The exact sweep puts the planted head first too.
  const auto e = mean_abs(exact["top1_prob_change"]);
  const int best = static_cast<int>(std::max_element(e.begin(), e.end()) - e.begin());
  EXPECT_EQ(best, planted["layer"].get<int>() * n_heads + planted["head"].get<int>());
  fs::remove_all(dir);
}

}  // namespace
