// activation_cache refuses NaN or Inf among the activations it would store
// (issue 9, item 2: "and the activations a plugin stores"), naming the input,
// the first hook point in forward order and its layer, and stores nothing of
// that input. The host's own check looks at the clean forward's logits at the
// answer position only, so the plugin is run here in-process, without it:
// before, it stored the NaN activations and marked the input done.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "checkpoint/safetensors.hpp"
#include "host/console.hpp"
#include "host/plugin_host.hpp"
#include "host_test_support.hpp"
#include "models/registry.hpp"
#include "report/figure_folder.hpp"

namespace {

using namespace mechlens;
using mechlens::testing::MemoryGroup;
using mechlens::testing::ScratchDir;

// Rewrites `file` with element 0 of the float32 tensor `name` set to `value`.
void poison(const std::string& file, const std::string& name, float value) {
  std::vector<checkpoint::TensorData> tensors;
  std::map<std::string, std::string> metadata;
  {
    const auto st = checkpoint::SafetensorsFile::open(file);
    metadata = st.metadata();
    for (const auto& [n, view] : st.tensors()) {
      checkpoint::TensorData t{n, view.dtype, view.shape, std::vector<std::byte>(view.data, view.data + view.nbytes)};
      if (n == name) {
        EXPECT_EQ(view.dtype, checkpoint::DType::f32);
        std::memcpy(t.bytes.data(), &value, sizeof value);
      }
      tensors.push_back(std::move(t));
    }
  }
  checkpoint::write_safetensors(file, tensors, metadata);
}

class ActivationCacheNonFinite : public ::testing::Test {
 protected:
  void SetUp() override {
    tiny::TinyBertOptions options;
    options.layers = 2;
    options.heads = 2;
    options.seed = 3;
    tiny::write_tiny_bert(dir_ / "tiny-bert", options);
  }

  // Runs activation_cache (built plugin, as the host loads it) on one input;
  // the error message, "" when it ran through.
  std::string run_cache(const std::vector<std::string>& hooks, MemoryGroup& group) {
    models::LoadOptions load;
    load.path = dir_ / "tiny-bert";
    const std::unique_ptr<Model> model = models::load("bert", load);
    InputSpec spec;
    spec.id = "first";
    spec.text = "the cat sat on the [MASK] .";
    const std::vector<EncodedInput> inputs{model->encode(spec)};
    const host::PluginHost plugins({std::string(MECHLENS_BINARY_DIR) + "/plugins"});
    const host::AnalysisPtr analysis = plugins.find("activation_cache").create();
    const ParamValues params({{"hooks", ParamValue(hooks)},
                              {"layers", ParamValue(std::vector<std::int64_t>{})},
                              {"positions", ParamValue(std::vector<std::int64_t>{})},
                              {"logits", ParamValue(true)}});
    host::StderrLogger log(false);
    host::StderrProgress progress(false);
    report::FigureFolder figures(dir_ / "figures");
    std::vector<std::string> findings;
    RunContext ctx{*model, inputs, group, params, progress, log, findings, figures};
    try {
      analysis->run(ctx);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  ScratchDir dir_;
};

TEST_F(ActivationCacheNonFinite, NanWeightIsRefusedNamingInputHookAndLayer) {
  poison(dir_ / "tiny-bert/model.safetensors", "bert.encoder.layer.1.attention.self.query.weight",
         std::numeric_limits<float>::quiet_NaN());
  MemoryGroup group;
  const std::string msg = run_cache({"blocks.*.hook_resid_post"}, group);
  // Layer 0's residual is finite and comes first; layer 1's is the first that is not.
  EXPECT_EQ(msg.rfind("activation_cache: input 'first': hook point 'blocks.1.hook_resid_post' (layer 1) holds NaN (", 0),
            0u)
      << msg;
  EXPECT_NE(msg.find("nothing was stored for this input"), std::string::npos) << msg;
  EXPECT_FALSE(group.unit_done("first"));
}

TEST_F(ActivationCacheNonFinite, NonFiniteLogitsAloneAreRefused) {
  // An Inf in the MLM head's bias: every hook point is finite, the logits are not.
  poison(dir_ / "tiny-bert/model.safetensors", "cls.predictions.bias", std::numeric_limits<float>::infinity());
  MemoryGroup group;
  const std::string msg = run_cache({"blocks.1.hook_resid_post"}, group);
  EXPECT_EQ(msg.rfind("activation_cache: input 'first': the logits hold Inf (", 0), 0u) << msg;
  EXPECT_FALSE(group.unit_done("first"));
}

TEST_F(ActivationCacheNonFinite, FiniteActivationsAreStored) {
  MemoryGroup group;
  EXPECT_EQ(run_cache({"blocks.*.hook_resid_post"}, group), "");
  EXPECT_TRUE(group.unit_done("first"));
}

}  // namespace
