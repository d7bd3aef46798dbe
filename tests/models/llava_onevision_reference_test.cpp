// The LLaVA-OneVision adapter (tower, projector, packing, placement, decoder)
// against an independent float64 implementation written from transformers'
// modeling_llava_onevision.py and modeling_siglip.py
// (reference/llava_onevision_reference.py). The pixel values are given, so
// this checks the model apart from the preprocessing.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tiny_llava_support.hpp"
#include "python_requirement.hpp"

namespace mechlens {
namespace {

using testing::Scratch;

nlohmann::json request_for(const Batch& batch) {
  nlohmann::json request = testing::ids_request(batch.ids, batch.attention_mask);
  request["images"] = nlohmann::json::array();
  for (const EncodedInput* in : batch.inputs) {
    if (!in->extras.count("pixel_values")) {
      request["images"].push_back(nullptr);
      continue;
    }
    const at::Tensor pv = in->extras.at("pixel_values").to(at::kDouble).contiguous();
    const at::Tensor size = in->extras.at("image_size");
    request["images"].push_back({{"pixel_values", std::vector<double>(pv.data_ptr<double>(), pv.data_ptr<double>() + pv.numel())},
                                 {"shape", pv.sizes().vec()},
                                 {"image_size", {size[0].item<std::int64_t>(), size[1].item<std::int64_t>()}}});
  }
  return request;
}

void compare(const tiny::TinyLlavaOptions& options, const std::vector<std::pair<int, int>>& images, double tolerance) {
  MECHLENS_REQUIRE_PYTHON("torch", "numpy");
  Scratch scratch;
  tiny::write_tiny_llava_onevision(scratch.path("ckpt"), options);
  const auto model = testing::load_llava(scratch.path("ckpt"));
  std::vector<EncodedInput> inputs;
  std::uint64_t seed = 1;
  for (const auto& [h, w] : images) inputs.push_back(testing::image_input(*model, h, w, {10, 20, 30}, {40, 50, 60, 70}, seed++));
  inputs.push_back(testing::text_input({11, 12, 13, 14, 15}));  // a text-only row, right-padded
  std::vector<const EncodedInput*> pointers;
  for (const auto& in : inputs) pointers.push_back(&in);
  const Batch batch = model->make_batch(pointers);

  HookSet hooks;
  hooks.cache("hook_inputs_embeds");
  hooks.cache("blocks.*.hook_resid_post");
  const at::Tensor logits = model->forward(batch, &hooks);
  const auto ref = testing::run_reference("llava_onevision_reference.py", scratch.path("ckpt"), request_for(batch), scratch);
  ASSERT_TRUE(ref.count("logits"));
  for (std::size_t b = 0; b < inputs.size(); ++b) {
    const auto n = static_cast<std::int64_t>(inputs[b].ids.size());
    EXPECT_LT(testing::max_abs_diff(hooks.cached().at("hook_inputs_embeds")[b].narrow(0, 0, n),
                                    ref.at("inputs_embeds")[b].narrow(0, 0, n)),
              tolerance)
        << "inputs_embeds row " << b;
    EXPECT_LT(testing::max_abs_diff(logits[b].narrow(0, 0, n), ref.at("logits")[b].narrow(0, 0, n)), tolerance) << "row " << b;
  }
  EXPECT_GT(ref.at("logits").abs().max().item<double>(), 0.5);
}

TEST(LlavaOnevisionReference, PackedImagesAndTextMatchFloat64Reference) {
  // 480x640: 5 x 6 tiles, unpadded rows and the anyres_max_9 downscale;
  // 60x100: 2 x 2 tiles, unpadded, no downscale.
  compare({}, {{480, 640}, {60, 100}}, 1e-4);
}

TEST(LlavaOnevisionReference, TallImageNewerLayoutUntiedHeadAndEarlierFeatureLayer) {
  tiny::TinyLlavaOptions o;
  o.newer_layout = true;
  o.text.tie_word_embeddings = false;
  o.feature_layer = -2;  // hidden_states[-2]: the last layer is loaded by nobody
  o.seed = 9;
  compare(o, {{1000, 300}, {2000, 2000}}, 1e-4);
}

}  // namespace
}  // namespace mechlens
