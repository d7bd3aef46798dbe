// A broken LLaVA-OneVision checkpoint is reported in ONE error (the whole
// file against one tensor table: decoder + vision tower + projector): every
// missing, mis-shaped and extra tensor, in the decoder, the tower and the
// projector at once, named with the file.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "checkpoint/checkpoint.hpp"
#include "checkpoint/safetensors.hpp"
#include "mechlens/error.hpp"
#include "tiny_llava_support.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

TEST(LlavaOnevisionLoad, EveryProblemOfABrokenCheckpointInOneError) {
  Scratch scratch;
  tiny::TinyLlavaOptions options;
  tiny::write_tiny_llava_onevision(scratch.path("ckpt"), options);
  std::map<std::string, at::Tensor> tensors;
  std::string file;
  {
    const auto ckpt = checkpoint::Checkpoint::open(scratch.path("ckpt"));
    ASSERT_EQ(ckpt.file_paths().size(), 1u);
    file = ckpt.file_paths().front();
    for (const auto& name : ckpt.names()) tensors[name] = ckpt.load(name, ckpt.view(name).shape, {}).clone();
  }
  const std::string missing_decoder = "language_model.model.layers.1.self_attn.k_proj.bias";
  const std::string missing_projector = "multi_modal_projector.linear_2.weight";
  const std::string misshaped_tower = "vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight";
  const std::string extra = "language_model.model.layers.0.self_attn.rotary.weight";
  ASSERT_TRUE(tensors.count(missing_decoder) && tensors.count(missing_projector) && tensors.count(misshaped_tower));
  tensors.erase(missing_decoder);
  tensors.erase(missing_projector);
  tensors[misshaped_tower] = tensors[misshaped_tower].narrow(0, 1, tensors[misshaped_tower].size(0) - 1).clone();
  tensors[extra] = at::zeros({2}, at::kFloat);
  checkpoint::write_tensors(file, tensors);

  std::string message = "(no error)";
  try {
    testing::load_llava(scratch.path("ckpt"));
  } catch (const Error& e) {
    message = e.what();
  }
  for (const std::string& fragment :
       {std::string("2 missing, 1 mis-shaped, 1 extra"), std::string("(files: model.safetensors)"),
        "missing: '" + missing_decoder + "'", "missing: '" + missing_projector + "'",
        "mis-shaped: '" + misshaped_tower + "' in model.safetensors has", "extra: '" + extra + "'"})
    EXPECT_NE(message.find(fragment), std::string::npos) << fragment << "\nin: " << message;
}

}  // namespace
}  // namespace mechlens
