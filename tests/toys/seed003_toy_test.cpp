// Seed 003's analyses on the toy models, through the shipped recipes and the
// shipped plugins (`mechlens run`), checked against what each toy's trainer
// recorded in its mechanisms.json.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

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

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

fs::path scratch() { return fs::temp_directory_path() / ("mechlens-toy-seed003-" + std::to_string(::getpid())); }

fs::path run_recipe(const std::string& recipe) {
  fs::create_directories(scratch());
  const fs::path archive = scratch() / (fs::path(recipe).stem().string() + ".h5");
  fs::remove(archive);
  const auto r = run_command(mechlens::testing::mechlens_binary() + " run " + shell_quote(kToy + "/" + recipe) +
                             " --out " + shell_quote(archive.string()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return archive;
}

class Seed003Toys : public ::testing::Test {
 protected:
  void SetUp() override {
    MECHLENS_REQUIRE_PYTHON("h5py");
  }
  static void TearDownTestSuite() { fs::remove_all(scratch()); }
};

// The induced token is ranked first only once the induction head's layer has
// written into the stream: not at the entries up to that layer, at the one after it.
TEST_F(Seed003Toys, InductionLensRanksTheInducedTokenFirstOnlyAfterTheInductionLayer) {
  const json planted = read_json(kToy + "/models/induction/mechanisms.json")["induction_head"];
  const int induction_layer = planted["layer"].get<int>();
  const fs::path archive = run_recipe("induction_logit_lens.toml");
  for (const char* name : {"lens", "lens_raw"}) {
    const json lens = dump_group(archive, std::string("runs/run_0001/analyses/") + name);
    const auto& shape = lens["target_rank"]["shape"];  // [input, layer_entry, pos]
    const int inputs = shape[0], entries = shape[1], width = shape[2];
    ASSERT_EQ(inputs, 4);
    EXPECT_EQ(lens["target_source"]["values"][0], "expected");
    for (int i = 0; i < inputs; ++i)
      for (int e = 0; e < entries; ++e) {
        const int rank = lens["target_rank"]["values"][(i * entries + e) * width].get<int>();
        if (e <= induction_layer) EXPECT_GT(rank, 1) << name << " input " << i << " entry " << e;
        else EXPECT_EQ(rank, 1) << name << " input " << i << " entry " << e;
      }
  }
}

// On the shapes VLM over its 40 held-out images: the plugin's per-head image
// mass of the last token is the quantity the trainer recorded
// (held_out.colour_heads[].last_token_attention_to_image, over 400 images
// drawn the same way), and the visual-token lens after the last layer names
// the shape's colour at its own tokens far more often than elsewhere.
class ShapesSeed003 : public Seed003Toys {
 protected:
  static void SetUpTestSuite() {
    if (!mechlens::testing::have_python_module("h5py")) return;
    archive_ = new fs::path(run_recipe("shapes_vlm_seed003.toml"));
  }
  static void TearDownTestSuite() {
    delete archive_;
    archive_ = nullptr;
    Seed003Toys::TearDownTestSuite();
  }
  static fs::path* archive_;
};
fs::path* ShapesSeed003::archive_ = nullptr;

// Spearman's rank correlation of two short lists without ties.
double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  auto ranks = [](const std::vector<double>& v) {
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < v.size(); ++i)
      for (std::size_t j = 0; j < v.size(); ++j) r[i] += v[j] < v[i];
    return r;
  };
  const auto ra = ranks(a), rb = ranks(b);
  double d2 = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d2 += (ra[i] - rb[i]) * (ra[i] - rb[i]);
  const double n = static_cast<double>(a.size());
  return 1 - 6 * d2 / (n * (n * n - 1));
}

// The trainer averaged over 200 held-out images drawn with seed 1001; the
// committed 40 were drawn with seed 2001. Both are means of the same
// quantity over the same distribution of images, so they must agree within
// sampling error (the difference of two means has standard error
// sd * sqrt(1/40 + 1/200), sd from the plugin's per-image values), and the
// heads must come in the same order.
TEST_F(ShapesSeed003, HeadSplitReproducesTheTrainersImageAttention) {
  const json heads = read_json(kToy + "/models/shapes_vlm/mechanisms.json")["held_out"]["colour_heads"];
  const json split = dump_group(*archive_, "runs/run_0001/analyses/head_modality_split");
  const auto& shape = split["mass"]["shape"];  // [input, layer, head, modality]
  const int inputs = shape[0], layers = shape[1], n_heads = shape[2];
  ASSERT_EQ(inputs, 40);
  const auto& mass = split["mass"]["values"];
  std::vector<double> measured, recorded;
  double worst_z = 0;
  for (const auto& h : heads) {
    const int l = h["layer"], head = h["head"];
    double sum = 0, sum2 = 0;
    for (int i = 0; i < inputs; ++i) {
      const double v = mass[((i * layers + l) * n_heads + head) * 3 + 1].get<double>();
      sum += v, sum2 += v * v;
    }
    const double mean = sum / inputs, sd = std::sqrt(std::max(0.0, sum2 / inputs - mean * mean));
    EXPECT_NEAR(split["mass_mean"]["values"][(l * n_heads + head) * 3 + 1].get<double>(), mean, 1e-9);
    const double want = h["last_token_attention_to_image"].get<double>();
    const double z = std::abs(mean - want) / std::max(1e-3, sd * std::sqrt(1.0 / inputs + 1.0 / 200));
    worst_z = std::max(worst_z, z);
    EXPECT_LT(z, 4.0) << "layer " << l << " head " << head << ": plugin " << mean << ", trainer " << want;
    measured.push_back(mean);
    recorded.push_back(want);
  }
  const double rho = spearman(measured, recorded);
  std::cout << "image mass per head, plugin on 40 images vs trainer on 200: worst z " << worst_z << ", Spearman "
            << rho << "\n";
  EXPECT_GE(rho, 0.9);
}

// Seed 004 reads colour words off the visual tokens in late layers. On this
// toy the vision tower spreads the colour over the whole image (every patch
// attends to the shape), so the lens names the image's colour above chance
// (1 in 4) after the last layer at object and background tokens alike; at
// the embeddings it does not. The object-vs-background rates are reported.
TEST_F(ShapesSeed003, VisualLensNamesTheImagesColourAfterTheLastLayer) {
  const json annotations = read_json(kToy + "/data/shapes/annotations.json");
  const json lens = dump_group(*archive_, "runs/run_0001/analyses/lens_visual");
  const json grids = dump_group(*archive_, "runs/run_0001/analyses/lens_visual/grids");
  std::vector<std::string> colours;
  for (const auto& t : lens["tracked"]["values"]) colours.push_back(t.get<std::string>().substr(1));  // " red" → red
  // hits[entry][object?], cells[object?]
  std::map<int, std::array<int, 2>> hits;
  std::array<int, 2> cells{0, 0};
  int entries = 0;
  for (const auto& image : annotations["images"]) {
    const std::string stem = fs::path(image["file"].get<std::string>()).stem().string();
    const int truth = static_cast<int>(std::find(colours.begin(), colours.end(), image["colour"].get<std::string>()) -
                                       colours.begin());
    for (int crop : {0, 1}) {
      const std::string at = "shapes/" + stem + "/crop_" + std::to_string(crop) + "/";
      const auto& s = grids[at + "tracked_prob"]["shape"];  // [layer_entry, tracked, row, col]
      entries = s[0];
      const int tracked = s[1], rows = s[2], cols = s[3];
      const auto& p = grids[at + "tracked_prob"]["values"];
      const auto& separator = grids[at + "separator"]["values"];
      for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
          if (separator[r * cols + c].get<int>()) continue;
          bool object = false;
          for (const auto& cell : image["object_patches"])
            object |= cell["crop"] == crop && cell["row"] == r && cell["col"] == c;
          ++cells[object];
          for (int e = 0; e < entries; ++e) {
            int best = 0;
            for (int t = 1; t < tracked; ++t)
              if (p[((e * tracked + t) * rows + r) * cols + c].get<double>() >
                  p[((e * tracked + best) * rows + r) * cols + c].get<double>())
                best = t;
            hits[e][object] += best == truth;
          }
        }
    }
  }
  ASSERT_GT(cells[0], 0);
  ASSERT_GT(cells[1], 0);
  auto rate = [&](int e) { return double(hits[e][0] + hits[e][1]) / (cells[0] + cells[1]); };
  for (int e = 0; e < entries; ++e)
    std::cout << "layer entry " << e << ": colour named at " << double(hits[e][1]) / cells[1] << " of object tokens, "
              << double(hits[e][0]) / cells[0] << " of background tokens\n";
  EXPECT_GT(rate(entries - 1), 0.3);
  EXPECT_GT(rate(entries - 1), rate(0) + 0.1);
}

}  // namespace
