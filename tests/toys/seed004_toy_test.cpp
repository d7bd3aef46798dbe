// Seed 004's analyses on the toy shapes VLM through the shipped recipe and
// plugins (`mechlens run experiments/toy/shapes_vlm_seed004.toml`), read back
// with h5py, against what the toy's trainer recorded (mechanisms.json):
// object tokens are where the colour is (ablating them drops colour accuracy
// to near chance, 4 colours; as many random tokens do not), and the object's
// information reaches the answer through attention in layer 0, where the
// object-reading head sits (blocking object -> last there hurts far more than
// blocking the rest of the image). The object flags the host derived from the
// boxes equal the trainer's object_patches.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

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

fs::path scratch() { return fs::temp_directory_path() / ("mechlens-toy-seed004-" + std::to_string(::getpid())); }

class ShapesSeed004 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!mechlens::testing::have_python_module("h5py")) return;
    fs::create_directories(scratch());
    archive_ = new fs::path(scratch() / "seed004.h5");
    const auto r = run_command(mechlens::testing::mechlens_binary() + " run " +
                               shell_quote(kToy + "/shapes_vlm_seed004.toml") + " --out " + shell_quote(archive_->string()));
    run_output_ = new std::string(r.output);
    ok_ = r.exit_code == 0;
  }
  static void TearDownTestSuite() {
    delete archive_;
    delete run_output_;
    fs::remove_all(scratch());
  }
  void SetUp() override {
    MECHLENS_REQUIRE_PYTHON("h5py");
    ASSERT_TRUE(ok_) << *run_output_;
  }
  static fs::path* archive_;
  static std::string* run_output_;
  static bool ok_;
};
fs::path* ShapesSeed004::archive_ = nullptr;
std::string* ShapesSeed004::run_output_ = nullptr;
bool ShapesSeed004::ok_ = false;

double value_of(const json& group, const std::string& name, const std::vector<std::string>& labels_dim,
                const std::string& label, const std::string& coordinate) {
  const auto& labels = group[coordinate]["values"];
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == label) return group[name]["values"][i].get<double>();
  ADD_FAILURE() << label << " not in " << coordinate;
  (void)labels_dim;
  return std::nan("");
}

TEST_F(ShapesSeed004, ObjectFlagsFromTheBoxesAreTheTrainersObjectPatches) {
  const json annotations = read_json(kToy + "/data/shapes/annotations.json");
  const json inputs = dump_group(*archive_, "runs/run_0001/inputs/by_id/shapes");
  int images = 0;
  for (const auto& image : annotations["images"]) {
    const std::string stem = fs::path(image["file"].get<std::string>()).stem().string();
    std::set<std::tuple<int, int, int>> want, got;
    for (const auto& cell : image["object_patches"]) want.emplace(cell["crop"], cell["row"], cell["col"]);
    const auto& object = inputs[stem + "/object"]["values"];
    for (std::size_t p = 0; p < object.size(); ++p)
      if (object[p].get<int>())
        got.emplace(inputs[stem + "/crop"]["values"][p].get<int>(), inputs[stem + "/row"]["values"][p].get<int>(),
                    inputs[stem + "/col"]["values"][p].get<int>());
    EXPECT_EQ(got, want) << stem;
    ++images;
  }
  EXPECT_EQ(images, 40);
}

TEST_F(ShapesSeed004, AblatingTheObjectTokensDropsColourAccuracyToNearChanceAndRandomTokensDoNot) {
  const json colour = read_json(kToy + "/models/shapes_vlm/mechanisms.json")["held_out"]["colour"];
  const json a = dump_group(*archive_, "runs/run_0001/analyses/visual_token_ablation");
  ASSERT_EQ(a["correct"]["shape"][0], 40);
  const double clean = a["@attrs"]["clean_accuracy"].get<double>();
  const double object = value_of(a, "accuracy", {}, "object", "set");
  const double random = value_of(a, "accuracy", {}, "random", "set");
  const double rest = value_of(a, "accuracy", {}, "image_minus_object", "set");
  std::cout << "[ seed 004 ] colour accuracy over 40 images: clean " << clean << ", object ablated " << object
            << " (trainer " << colour["accuracy_object_tokens_ablated"] << "), as many random " << random << " (trainer "
            << colour["accuracy_random_tokens_ablated"] << "), image minus object " << rest << " (trainer "
            << colour["accuracy_all_but_object_tokens_ablated"] << ")\n";
  EXPECT_GE(clean, 0.95);
  EXPECT_LE(object, 0.45) << "near chance (0.25 for 4 colours)";
  EXPECT_GE(random, clean - 0.1);
  EXPECT_GE(rest, clean - 0.1);
  EXPECT_LE(std::abs(object - colour["accuracy_object_tokens_ablated"].get<double>()), 0.2);
  // The sweep: more object tokens ablated, lower accuracy; random stays high.
  const auto& sweep = a["sweep_accuracy"]["values"];  // [sweep_set, n]
  const int K = a["n"]["shape"][0];
  EXPECT_LT(sweep[0 * K + (K - 1)].get<double>(), sweep[0 * K + 0].get<double>());
  EXPECT_GE(sweep[1 * K + 1].get<double>(), clean - 0.15) << "5 random tokens";
  EXPECT_EQ(a["mean_vector"]["shape"][0], 64);
}

TEST_F(ShapesSeed004, KnockingOutObjectToLastInTheObjectHeadsLayerHurtsFarMoreThanTheRestOfTheImage) {
  const json heads = read_json(kToy + "/models/shapes_vlm/mechanisms.json")["held_out"]["colour_heads"];
  int reader_layer = -1;
  double lowest = 2;
  for (const auto& h : heads)
    if (h["accuracy_when_zeroed"].get<double>() < lowest) lowest = h["accuracy_when_zeroed"], reader_layer = h["layer"];
  const json k = dump_group(*archive_, "runs/run_0001/analyses/knockout_windows");
  const auto& windows = k["window"]["values"];
  const auto& edges = k["edge_set"]["values"];
  const int E = static_cast<int>(edges.size());
  auto drop = [&](const std::string& window, const std::string& edge) {
    for (std::size_t w = 0; w < windows.size(); ++w)
      for (int e = 0; e < E; ++e)
        if (windows[w] == window && edges[e] == edge) return k["accuracy_drop"]["values"][w * E + e].get<double>();
    ADD_FAILURE() << window << " / " << edge;
    return std::nan("");
  };
  const std::string window = std::to_string(reader_layer) + "-" + std::to_string(reader_layer);
  const double object = drop(window, "object->last"), rest = drop(window, "image_minus_object->last");
  std::cout << "[ seed 004 ] accuracy drop, knockout in layers " << window << ": object->last " << object
            << ", image_minus_object->last " << rest << "; all layers: object->last " << drop("all", "object->last")
            << ", image_minus_object->last " << drop("all", "image_minus_object->last") << "\n";
  EXPECT_GE(object, 0.4);
  EXPECT_GE(object - rest, 0.3);
  EXPECT_GE(drop("all", "object->last"), object - 0.1) << "blocking every layer hurts at least about as much";
}

// One forward per ablated set or edge set (batch_rows = 1) gives what the
// batched forwards gave: every row of a batch is its own intervention.
TEST_F(ShapesSeed004, BatchedRowsEqualOneRowAtATime) {
  const fs::path single = scratch() / "seed004_single.h5";
  const auto r = run_command(mechlens::testing::mechlens_binary() + " run " +
                             shell_quote(kToy + "/shapes_vlm_seed004.toml") + " --out " + shell_quote(single.string()) +
                             " --set analysis.visual_token_ablation.batch_rows=1 --set analysis.knockout_windows.batch_rows=1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* analysis : {"visual_token_ablation", "knockout_windows"}) {
    const json batched = dump_group(*archive_, std::string("runs/run_0001/analyses/") + analysis);
    const json one = dump_group(single, std::string("runs/run_0001/analyses/") + analysis);
    for (const char* name : {"top_prob_change", "correct"}) {
      const auto& a = batched[name]["values"];
      const auto& b = one[name]["values"];
      ASSERT_EQ(a.size(), b.size()) << analysis << " " << name;
      double worst = 0;
      for (std::size_t i = 0; i < a.size(); ++i)
        if (!a[i].is_null() || !b[i].is_null()) worst = std::max(worst, std::abs(a[i].get<double>() - b[i].get<double>()));
      EXPECT_LT(worst, 1e-5) << analysis << " " << name;
    }
  }
}

}  // namespace
