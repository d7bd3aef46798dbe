// End to end: `mechlens run` of attentionviz on tiny checkpoints, the archive
// read back by tests/e2e/attentionviz_reference.py (h5py, NumPy and a plain
// PyTorch BERT forward written there, no mechlens code).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "subprocess.hpp"
#include "tiny_bert.hpp"
#include "tiny_qwen2.hpp"
#include "python_requirement.hpp"

namespace fs = std::filesystem;
using mechlens::testing::run_command;
using mechlens::testing::shell_quote;

namespace {

class AttentionVizRun : public ::testing::Test {
 protected:
  void SetUp() override {
    MECHLENS_REQUIRE_PYTHON("h5py");
    dir_ = fs::temp_directory_path() / ("mechlens-attentionviz-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // One [MASK] each: BERT inputs need an answer position, though attentionviz reads none.
    std::ofstream(dir_ / "sentences.txt") << "# three prompts\nthe cat sat on the [MASK] .\n\na dog runs to the [MASK] house\n"
                                             "the [MASK] is red\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_bert() {
    mechlens::tiny::TinyBertOptions options;
    options.layers = 2;
    options.heads = 4;
    options.seed = 11;
    mechlens::tiny::write_tiny_bert((dir_ / "tiny-bert").string(), options);
  }

  // A recipe on the tiny checkpoint with the given analysis lines.
  fs::path recipe(const std::string& analysis, const std::string& adapter = "bert",
                  const std::string& model = "tiny-bert") {
    const fs::path path = dir_ / "recipe.toml";
    std::ofstream(path) << "[experiment]\nname = \"viz\"\n\n[model]\nadapter = \"" << adapter << "\"\npath = \""
                        << model << "\"\nthreads = 1\n\n[[inputs]]\nprompts_file = \"sentences.txt\"\n\n[[analysis]]\n"
                        << "plugin = \"attentionviz\"\nfigures = false\ntsne_iterations = 200\n"
                        << "tsne_perplexity = 5.0\n" << analysis;
    return path;
  }

  fs::path run(const fs::path& recipe, const std::string& out = "out.h5", const std::string& extra = "") {
    const fs::path archive = dir_ / out;
    const auto r = run_command(mechlens::testing::mechlens_binary() + " run " + shell_quote(recipe.string()) +
                               " --out " + shell_quote(archive.string()) + extra);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    output_ = r.output;
    return archive;
  }

  nlohmann::json check(const fs::path& archive, const std::string& checkpoint = "",
                       const std::string& analysis = "attentionviz") {
    const auto script = std::string(MECHLENS_SOURCE_DIR) + "/tests/e2e/attentionviz_reference.py";
    std::string command = "/usr/bin/python3 " + shell_quote(script) + " " + shell_quote(archive.string()) +
                          " run_0001 " + analysis;
    if (!checkpoint.empty()) command += " " + shell_quote(checkpoint);
    const auto r = run_command(command);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return nlohmann::json::parse(r.output);
  }

  static double max_of(const nlohmann::json& table) {
    double m = -1e300;
    for (const auto& row : table)
      for (const auto& v : row) m = std::max(m, v.get<double>());
    return m;
  }

  fs::path dir_;
  std::string output_;
};

// Translation and scaling keep every pattern; equal norms; PCA = NumPy's SVD;
// an independent PyTorch BERT gives the same q, k, c and coordinates.
TEST_F(AttentionVizRun, EqualNormsKeepPatternsAndMatchTheReference) {
  write_bert();
  const auto archive = run(recipe("store_vectors = true\ntsne = \"none\"\n"));
  EXPECT_NE(output_.find("max |delta pattern|"), std::string::npos) << output_;
  const auto json = check(archive, (dir_ / "tiny-bert").string());
  EXPECT_EQ(json["dims"]["pca2_after"], nlohmann::json::array({"layer", "head", "point", "pca2_axis"}));
  EXPECT_EQ(json["dims"]["nearest_key_is_top_after"], nlohmann::json::array({"layer", "head", "space"}));
  EXPECT_EQ(json["spaces"], nlohmann::json::array({"full", "pca2", "pca3", "tsne"}));
  EXPECT_EQ(json["attrs"]["query_hook"], "attn.hook_q");
  EXPECT_LT(max_of(json["max_pattern_change"]), 1e-9);  // float64 throughout the plugin
  EXPECT_LT(max_of(json["pattern_reproduction_error"]), 1e-5);  // the model's float32 pattern
  EXPECT_LT(json["norm_gap"].get<double>(), 1e-9);
  EXPECT_LT(json["centroid_gap"].get<double>(), 1e-9);
  EXPECT_LT(json["transform_error"].get<double>(), 1e-12);
  EXPECT_LT(json["pca_error"].get<double>(), 1e-9);
  EXPECT_LT(json["reference_vector_error"].get<double>(), 1e-4);  // the model runs in float32
  EXPECT_LT(json["reference_scale_error"].get<double>(), 1e-4);
  EXPECT_LT(json["reference_pca_error"].get<double>(), 1e-3);
  EXPECT_LT(json["reference_pattern_error"].get<double>(), 1e-12);
  // Every token of the three prompts is a point, as query and as key.
  const std::size_t tokens = json["token_text"].size();
  EXPECT_EQ(json["point_kind"].size(), 2 * tokens);
  EXPECT_EQ(json["point_kind"][0], "query");
  EXPECT_EQ(json["point_kind"][tokens], "key");
  EXPECT_GT(json["edges"]["count"].get<int>(), 0);
  EXPECT_GE(json["edges"]["min_weight"].get<double>(), 0.05);
  EXPECT_TRUE(json["edges"]["key_points_are_keys"].get<bool>());
  EXPECT_TRUE(json["edges"]["query_points_are_queries"].get<bool>());
  for (const auto& row : json["nearest_key_is_top_after"])
    for (const auto& head : row) {
      for (int s = 0; s < 3; ++s)  // full, pca2, pca3: fractions
        EXPECT_TRUE(head[s].get<double>() >= 0.0 && head[s].get<double>() <= 1.0) << head;
      EXPECT_EQ(head[3].get<double>(), -9.0);  // tsne = "none": NaN (read as -9)
    }
}

// Max-correlation c (both distance spaces, weighted, shared across layers):
// still pattern-preserving, and at least as correlated as the equal-norm c.
TEST_F(AttentionVizRun, MaxCorrelationScaleIsAtLeastAsCorrelated) {
  write_bert();
  const std::string next = "\n[[analysis]]\nplugin = \"attentionviz\"\nfigures = false\ntsne = \"none\"\n";
  const auto archive = run(recipe("name = \"equal\"\ntsne = \"none\"\n" + next +
                                  "name = \"best\"\nscale = \"max_correlation\"\n" + next +
                                  "name = \"shared\"\nscale = \"max_correlation\"\ndistance = \"pca2\"\n"
                                  "weighted = true\nnormalise_over = \"all\"\n"));
  const auto equal = check(archive, "", "equal"), best = check(archive, "", "best");
  EXPECT_LT(max_of(best["max_pattern_change"]), 1e-9);
  for (std::size_t l = 0; l < 2; ++l)
    for (std::size_t h = 0; h < 4; ++h) {
      const double e = equal["dot_distance_correlation_after"][l][h][0].get<double>();
      const double b = best["dot_distance_correlation_after"][l][h][0].get<double>();
      EXPECT_LE(b, e + 1e-9) << "layer " << l << " head " << h;
    }
  const auto shared = check(archive, "", "shared");
  EXPECT_LT(max_of(shared["max_pattern_change"]), 1e-9);
  const double c = shared["scale"][0][0].get<double>();
  for (const auto& row : shared["scale"])
    for (const auto& v : row) EXPECT_DOUBLE_EQ(v.get<double>(), c);  // one c for every layer and head
  EXPECT_EQ(shared["attrs"]["normalise_over"], "all");
  EXPECT_EQ(shared["attrs"]["distance_space"], "pca2");
}

// Exact t-SNE: the same seed gives the same coordinates, another seed others.
TEST_F(AttentionVizRun, TsneIsDeterministicForASeed) {
  write_bert();
  // Three analyses in one run: a and b with one seed, c with another.
  const std::string analysis = "layers = [1]\nheads = [0, 3]\n";
  const std::string more = "\n[[analysis]]\nplugin = \"attentionviz\"\nfigures = false\ntsne_iterations = 200\n"
                           "tsne_perplexity = 5.0\n" + analysis;
  const auto archive = run(recipe(analysis + "name = \"a\"\nseed = 3\n" + more + "name = \"b\"\nseed = 3\n" + more +
                                  "name = \"c\"\nseed = 4\n"));
  const auto a = check(archive, "", "a"), b = check(archive, "", "b"), c = check(archive, "", "c");
  EXPECT_EQ(a["tsne_after"], b["tsne_after"]);
  EXPECT_NE(a["tsne_after"], c["tsne_after"]);
  EXPECT_NE(a["tsne_after"][0][0][0][0].get<double>(), -9.0);  // computed, not NaN
}

// Rotary + GQA (tiny Qwen2: 4 query heads on 2 KV heads): the vectors after
// rotary are collected, so the patterns rebuilt from them are the model's.
TEST_F(AttentionVizRun, RotaryModelUsesTheRotatedVectors) {
  mechlens::tiny::write_tiny_qwen2((dir_ / "tiny-qwen2").string(), {});
  const auto json = check(run(recipe("tsne = \"none\"\n", "qwen2", "tiny-qwen2")));
  EXPECT_EQ(json["attrs"]["query_hook"], "attn.hook_rot_q");
  EXPECT_EQ(json["attrs"]["key_hook"], "attn.hook_rot_k");
  EXPECT_LT(max_of(json["pattern_reproduction_error"]), 1e-5);
  EXPECT_LT(max_of(json["max_pattern_change"]), 1e-9);
}

// The seed's recipes validate against the built plugin (every parameter
// known), and the one-sentence recipe runs end to end with a tiny BERT
// standing in for bert-base-uncased.
TEST_F(AttentionVizRun, SeedRecipesValidateAndTheSeedSentenceRuns) {
  const std::string seed = std::string(MECHLENS_SOURCE_DIR) + "/experiments/seed-001/";
  for (const char* name : {"capybara.toml", "many_sentences.toml"}) {
    const auto r = run_command("MECHLENS_MODELS=/nonexistent " + mechlens::testing::mechlens_binary() + " validate " +
                               shell_quote(seed + name));
    EXPECT_EQ(r.exit_code, 0) << name << "\n" << r.output;
  }
  mechlens::tiny::TinyBertOptions options;
  options.layers = 1;
  options.heads = 2;
  mechlens::tiny::write_tiny_bert((dir_ / "bert-base-uncased").string(), options);
  const fs::path archive = dir_ / "capybara.h5";
  const auto r = run_command("MECHLENS_MODELS=" + shell_quote(dir_.string()) + " " +
                             mechlens::testing::mechlens_binary() + " run " + shell_quote(seed + "capybara.toml") +
                             " --out " + shell_quote(archive.string()) + " --set model.threads=1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* analysis : {"equal_norms", "max_correlation_full", "max_correlation_pca2"}) {
    const auto script = std::string(MECHLENS_SOURCE_DIR) + "/tests/e2e/attentionviz_reference.py";
    const auto read = run_command("/usr/bin/python3 " + shell_quote(script) + " " + shell_quote(archive.string()) +
                                  " run_0001 " + analysis);
    ASSERT_EQ(read.exit_code, 0) << read.output;
    const auto json = nlohmann::json::parse(read.output);
    EXPECT_EQ(json["layers"], nlohmann::json::array({0})) << analysis;
    EXPECT_LT(max_of(json["max_pattern_change"]), 1e-9) << analysis;
  }
  // The joint scatters (PCA, t-SNE) and the seed's Fig. 4(b), per head.
  const fs::path figures = dir_ / "capybara_figures" / "run_0001";
  for (const char* file : {"equal_norms/pca2_after_L0_H1.png", "equal_norms/pca2_before_L0_H1.png",
                           "equal_norms/tsne_after_L0_H1.png", "equal_norms/dot_vs_distance_L0_H1.png",
                           "max_correlation_pca2/pca2_after_L0_H0.png"})
    EXPECT_TRUE(fs::exists(figures / file)) << file << "\n" << r.output;
  EXPECT_FALSE(fs::exists(figures / "max_correlation_pca2/tsne_after_L0_H0.png"));  // tsne = "none"
}

TEST(AttentionVizDescribe, EveryParameterIsDocumented) {
  const auto r = run_command(mechlens::testing::mechlens_binary() + " describe attentionviz");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* param : {"layers", "heads", "scale", "distance", "weighted", "normalise_over", "tsne",
                            "tsne_perplexity", "tsne_iterations", "tsne_max_points", "seed", "edges_per_query",
                            "edge_min_weight", "store_vectors", "figures", "figure_heads", "label_tokens"})
    EXPECT_NE(r.output.find(std::string("\n  ") + param + " ("), std::string::npos) << param << "\n" << r.output;
  EXPECT_NE(r.output.find("BEFORE"), std::string::npos);  // which distance is which
  EXPECT_NE(r.output.find("AFTER"), std::string::npos);
}

TEST_F(AttentionVizRun, BadLayerIsNamed) {
  write_bert();
  const auto r = run_command(mechlens::testing::mechlens_binary() + " run " +
                             shell_quote(recipe("layers = [5]\n").string()) + " --out " +
                             shell_quote((dir_ / "bad.h5").string()));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("layer 5 is outside 0..1"), std::string::npos) << r.output;
}

}  // namespace
