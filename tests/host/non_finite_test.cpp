// One NaN or Inf weight used to give all-NaN results with exit 0 and status
// "complete" (issue 9, item 2). The host now runs the clean forward of every
// input before any analysis and refuses non-finite logits, naming the input
// and the first hook point (and layer) where non-finite values appear;
// nothing is written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "checkpoint/safetensors.hpp"
#include "run_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace mechlens;
using namespace mechlens::testing;

// Rewrites `file` with element 0 of tensor `name` (float32) set to `value`.
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

class NonFinite : public ::testing::Test {
 protected:
  void SetUp() override {
    recipe_ = write_good_recipe(dir_);
    out_ = dir_ / "out.h5";
  }
  std::string refused() {
    const std::string msg = error_message([&] { run_in_process(recipe_, out_, log_); });
    EXPECT_FALSE(fs::exists(out_));
    EXPECT_FALSE(fs::exists(out_ + ".partial"));
    return msg;
  }
  ScratchDir dir_;
  SilentLog log_;
  std::string recipe_, out_;
};

TEST_F(NonFinite, NanWeightInLayerOneNamesTheHookPointAndLayer) {
  poison(dir_ / "tiny-bert/model.safetensors", "bert.encoder.layer.1.attention.self.query.weight",
         std::numeric_limits<float>::quiet_NaN());
  const std::string msg = refused();
  EXPECT_EQ(msg.rfind("input 'first': ", 0), 0u) << msg;
  EXPECT_NE(msg.find("non-finite"), std::string::npos) << msg;
  EXPECT_NE(msg.find("hook point 'blocks.1.attn.hook_q' (layer 1)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("tensor 'bert.encoder.layer.1.attention.self.query.weight' (" + (dir_ / "tiny-bert") +
                     "/model.safetensors) holds NaN"),
            std::string::npos)
      << msg;
}

TEST_F(NonFinite, InfEmbeddingNamesTheEmbeddings) {
  poison(dir_ / "tiny-bert/model.safetensors", "bert.embeddings.position_embeddings.weight",
         std::numeric_limits<float>::infinity());
  const std::string msg = refused();
  EXPECT_NE(msg.find("hook point 'hook_embed' (the embeddings)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("tensor 'bert.embeddings.position_embeddings.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("holds Inf"), std::string::npos) << msg;
}

TEST_F(NonFinite, FiniteModelRunsAndRecordsTheCheck) {
  const auto result = run_in_process(recipe_, out_, log_);
  EXPECT_EQ(result.run_name, "run_0001");
}

}  // namespace
