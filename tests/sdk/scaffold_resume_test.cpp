// Resume, as the scaffold's example does it: a unit an interrupted run marked
// done is skipped and what it stored is kept; the other units come out as in
// a fresh run. In-process, on a MemoryGroup, the plugin loaded as the host
// loads it (from the in-tree build of the template).
#include <cmath>

#include "../host/host_test_support.hpp"
#include "host/console.hpp"
#include "host/plugin_host.hpp"
#include "models/registry.hpp"
#include "report/figure_folder.hpp"
#include "sdk_test_support.hpp"

namespace {

using namespace mechlens;
using mechlens::testing::MemoryGroup;
using mechlens::testing::ScratchTest;

std::vector<std::string> run_example(const Model& model, const std::vector<EncodedInput>& inputs, MemoryGroup& group,
                                     const std::string& figure_dir) {
  const host::PluginHost plugins({MECHLENS_SCAFFOLD_PLUGIN_DIR});
  const host::AnalysisPtr analysis = plugins.find("attention_entropy").create();
  const ParamValues params({{"query_position", ParamValue(std::int64_t{-1})}, {"ablate_focused", ParamValue(true)}});
  host::StderrLogger log(false);
  host::StderrProgress progress(false);
  report::FigureFolder figures(figure_dir);
  std::vector<std::string> findings;
  RunContext ctx{model, inputs, group, params, progress, log, findings, figures};
  analysis->run(ctx);
  return findings;
}

using ScaffoldResume = ScratchTest;

TEST_F(ScaffoldResume, SkipsFinishedUnitsAndKeepsTheirResults) {
  models::LoadOptions options;
  options.path = std::string(MECHLENS_SOURCE_DIR) + "/experiments/toy/models/induction";
  const std::unique_ptr<Model> model = models::load("qwen2", options);
  std::vector<EncodedInput> inputs;
  for (const auto& [id, text] : std::vector<std::pair<std::string, std::string>>{
           {"repeat_1", " bl of blue apple is an there to box token bl of blue apple is an there to box"},
           {"repeat_2", " is dog in table an th green next on bird is dog in table an th green next on"}}) {
    InputSpec spec;
    spec.id = id;
    spec.text = text;
    inputs.push_back(model->encode(spec));
  }

  MemoryGroup fresh;
  run_example(*model, inputs, fresh, (dir_ / "fresh").string());
  ASSERT_TRUE(fresh.unit_done("repeat_1") && fresh.unit_done("repeat_2"));
  const std::vector<double> entropy = fresh.arrays.at("entropy");
  const std::vector<double> change = fresh.arrays.at("focused_head_prob_change");
  ASSERT_EQ(entropy.size(), 16u);  // 2 inputs x 2 layers x 4 heads
  ASSERT_EQ(change.size(), 2u);
  for (double e : entropy) EXPECT_FALSE(std::isnan(e));

  // An interrupted run finished repeat_1 (its values made recognisable) and nothing else.
  MemoryGroup resumed;
  std::vector<double> partial(16, std::nan(""));
  std::fill(partial.begin(), partial.begin() + 8, 7.0);
  resumed.write("entropy", {ElementType::f64, {2, 2, 4}, partial.data()}, {"input", "layer", "head"});
  const std::vector<double> partial_change{0.5, std::nan("")};
  resumed.write("focused_head_prob_change", {ElementType::f64, {2}, partial_change.data()}, {"input"});
  resumed.mark_unit_done("repeat_1");
  const std::vector<std::string> findings = run_example(*model, inputs, resumed, (dir_ / "resumed").string());

  EXPECT_TRUE(resumed.unit_done("repeat_2"));
  const std::vector<double>& after = resumed.arrays.at("entropy");
  ASSERT_EQ(after.size(), 16u);
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(after[i], 7.0) << "repeat_1 was recomputed, cell " << i;
  for (std::size_t i = 8; i < 16; ++i) EXPECT_NEAR(after[i], entropy[i], 1e-12) << "cell " << i;
  EXPECT_EQ(resumed.arrays.at("focused_head_prob_change")[0], 0.5);
  EXPECT_NEAR(resumed.arrays.at("focused_head_prob_change")[1], change[1], 1e-12);
  ASSERT_EQ(findings.size(), 1u);  // the summary covers both units, the restored one included
  EXPECT_NE(findings[0].find("mean entropy"), std::string::npos) << findings[0];
}

}  // namespace
