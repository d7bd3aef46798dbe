// AttentionViz (seed 001) on the toy agreement BERT, through the shipped
// recipe (experiments/toy/grammar_bert_attentionviz.toml) and plugin: how often
// is a query's nearest key in the joint picture the key it attends to most,
// before and after the normalisation, for the recorded agreement head and for
// a head of the same layer with no recorded role?
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "subprocess.hpp"
#include "python_requirement.hpp"

namespace fs = std::filesystem;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;
using nlohmann::json;

namespace {

const std::string kToy = std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy";

TEST(AttentionVizToy, NormalisationDoesNotHideTheAgreementHeadsAttention) {
  MECHLENS_REQUIRE_PYTHON("h5py");
  const fs::path dir = fs::temp_directory_path() / ("mechlens-toy-attentionviz-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path archive = dir / "viz.h5";
  const auto r = run_command(mechlens::testing::mechlens_binary() + " run " +
                             shell_quote(kToy + "/grammar_bert_attentionviz.toml") + " --out " +
                             shell_quote(archive.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto script = std::string(MECHLENS_SOURCE_DIR) + "/tests/e2e/attentionviz_reference.py";
  const auto read = run_command("/usr/bin/python3 " + shell_quote(script) + " " + shell_quote(archive.string()));
  ASSERT_EQ(read.exit_code, 0) << read.output;
  const json viz = json::parse(read.output);
  fs::remove_all(dir);

  std::ifstream in(kToy + "/models/grammar_bert/mechanisms.json");
  const json mechanisms = json::parse(in);
  const json agreement = mechanisms["agreement_head"];
  ASSERT_EQ(viz["layers"], json::array({agreement["layer"]}));
  const int role = agreement["head"].get<int>();
  const int none = role == 3 ? 0 : 3;  // layer 1's other heads have no recorded role
  const auto& spaces = viz["spaces"];
  for (int head : {role, none}) {
    std::cout << "layer " << agreement["layer"] << " head " << head << (head == role ? " (agreement)" : " (no role)")
              << ": nearest key = most-attended key, before -> after normalisation:";
    for (std::size_t s = 0; s < spaces.size(); ++s)
      std::cout << " " << spaces[s].get<std::string>() << " " << viz["nearest_key_is_top_before"][0][head][s] << " -> "
                << viz["nearest_key_is_top_after"][0][head][s] << ";";
    std::cout << " corr(q.k, distance) " << viz["dot_distance_correlation_before"][0][head][0] << " -> "
              << viz["dot_distance_correlation_after"][0][head][0] << "\n";
  }
  EXPECT_LT(viz["max_pattern_change"][0][role].get<double>(), 1e-9);

  // The recorded mechanism itself: in the 2-D PCA after normalisation, the
  // [MASK]'s nearest key is the subject noun (the first noun) more often for
  // the agreement head than for any other head of its layer.
  std::set<std::string> nouns;
  for (const auto& n : mechanisms["grammar"]["nouns"]) nouns.insert(n["singular"]), nouns.insert(n["plural"]);
  const auto& text = viz["token_text"];
  const auto& input_of = viz["token_input"];
  const std::size_t n_tokens = text.size();
  std::vector<int> subject_nearest(viz["heads"].size(), 0);
  int sentences = 0;
  for (std::size_t first = 0; first < n_tokens;) {
    std::size_t end = first;
    while (end < n_tokens && input_of[end] == input_of[first]) ++end;
    std::size_t mask = 0, subject = 0;
    for (std::size_t i = end; i-- > first;) {
      if (text[i] == "[MASK]") mask = i;
      if (nouns.count(text[i].get<std::string>())) subject = i;  // the first noun, scanning backwards
    }
    for (std::size_t h = 0; h < subject_nearest.size(); ++h) {
      const auto& xy = viz["pca2_after"][0][h];
      auto distance = [&](std::size_t key) {
        const double dx = xy[n_tokens + key][0].get<double>() - xy[mask][0].get<double>();
        const double dy = xy[n_tokens + key][1].get<double>() - xy[mask][1].get<double>();
        return dx * dx + dy * dy;
      };
      std::size_t nearest = first;
      for (std::size_t k = first; k < end; ++k)
        if (distance(k) < distance(nearest)) nearest = k;
      subject_nearest[h] += nearest == subject;
    }
    ++sentences;
    first = end;
  }
  for (std::size_t h = 0; h < subject_nearest.size(); ++h) {
    std::cout << "head " << h << ": [MASK]'s nearest key (2-D PCA, after) is the subject in " << subject_nearest[h]
              << " of " << sentences << " sentences\n";
    if (static_cast<int>(h) != role) { EXPECT_GT(subject_nearest[role], subject_nearest[h]) << "head " << h; }
  }
  EXPECT_GE(2 * subject_nearest[role], sentences);
  // The pictures a person looks at: the 2-D and 3-D PCA.
  for (std::size_t s : {1u, 2u}) {
    const double before = viz["nearest_key_is_top_before"][0][role][s].get<double>();
    const double after = viz["nearest_key_is_top_after"][0][role][s].get<double>();
    EXPECT_GE(after, before) << spaces[s];
  }
}

}  // namespace
