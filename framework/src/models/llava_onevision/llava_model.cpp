#include "models/llava_onevision/llava_model.hpp"

#include <ATen/ATen.h>

#include "mechlens/error.hpp"
#include "models/layers/hook_points.hpp"

namespace mechlens::models::llava_onevision {

std::vector<HookPoint> LlavaOnevisionModel::hook_points() const {
  std::vector<HookPoint> points = {layers::residual_hook("hook_embed"), layers::residual_hook("hook_inputs_embeds")};
  for (auto& p : decoder_.hook_points()) points.push_back(std::move(p));
  for (auto& p : tower_.hook_points()) points.push_back(std::move(p));
  // Every crop of every image after the select strategy ("default" drops the
  // first patch, so these are feature_patch, not patch), then projected to the LM's width.
  points.push_back({"vision.hook_features", {"crop", "feature_patch", "d_vision_features"}});
  points.push_back({"vision.hook_projected", {"crop", "feature_patch", "d_model"}});
  return points;
}

PackLayout LlavaOnevisionModel::pack_layout_for(int height, int width) const {
  return pack_layout({height, width}, config_.grid_pinpoints, config_.vision.image_size, config_.vision.patch_size,
                     config_.max_num_patches);
}

std::vector<at::Tensor> LlavaOnevisionModel::image_features_batch(const std::vector<const EncodedInput*>& images,
                                                                  const HookSet* hooks) const {
  require_weights("image features");
  // get_image_features: every crop of every image through the tower at once,
  // hidden_states[vision_feature_layer], the select strategy, the projector,
  // then split per image and packed.
  std::vector<at::Tensor> pixels;
  std::vector<PackLayout> layouts;
  for (const EncodedInput* in : images) {
    const auto& extras = in->extras;
    if (!extras.count("pixel_values") || !extras.count("image_size"))
      fail("input '" + in->spec.id + "'", "has image tokens but no pixel_values/image_size (was it encoded by this adapter?)");
    const at::Tensor size = extras.at("image_size").to(at::kLong);
    const PackLayout layout = pack_layout_for(static_cast<int>(size[0].item<std::int64_t>()),
                                              static_cast<int>(size[1].item<std::int64_t>()));
    const at::Tensor& pv = extras.at("pixel_values");
    if (pv.dim() != 4 || pv.size(0) != 1 + layout.tiles())
      fail("input '" + in->spec.id + "'", "pixel_values of shape " + std::string(c10::str(pv.sizes())) + ", expected " +
                                              std::to_string(1 + layout.tiles()) + " crops (base + " +
                                              std::to_string(layout.tiles()) + " tiles)");
    pixels.push_back(pv);
    layouts.push_back(layout);
  }
  const at::Tensor all = at::cat(pixels, 0).to(options_);
  std::vector<at::Tensor> states = tower_.hidden_states(all, config_.feature_layers, hooks);
  at::Tensor selected = states.size() == 1 ? states[0] : at::cat(states, -1);
  if (config_.select_strategy == "default") selected = selected.narrow(1, 1, selected.size(1) - 1);
  selected = HookScope(hooks, "")("vision.hook_features", std::move(selected));
  at::Tensor projected = HookScope(hooks, "")("vision.hook_projected", projector_(selected));

  std::vector<at::Tensor> out;
  std::int64_t offset = 0;
  for (const PackLayout& layout : layouts) {
    const std::int64_t n = 1 + layout.tiles();
    out.push_back(pack_image_features(projected.narrow(0, offset, n), layout, image_newline_));
    offset += n;
  }
  return out;
}

at::Tensor LlavaOnevisionModel::image_features(const at::Tensor& pixels, int height, int width,
                                               const HookSet* hooks) const {
  EncodedInput in;
  in.extras["pixel_values"] = pixels;
  in.extras["image_size"] = at::tensor(std::vector<std::int64_t>{height, width}, at::kLong);
  return image_features_batch({&in}, hooks)[0];
}

void LlavaOnevisionModel::require_weights(const char* what) const {
  if (!ckpt_) fail("llava_onevision", std::string(what) + ": loaded for encoding only (no weights)");
}

at::Tensor LlavaOnevisionModel::embed(const Batch& batch, const HookSet* hooks) const {
  require_weights("embed");
  const at::Tensor ids = batch.ids.to(options_.device(), at::kLong);
  at::Tensor x = decoder_.embed_tokens(ids);
  x = HookScope(hooks, "")("hook_embed", std::move(x));

  // Rows with image placeholders get the image's packed features there, in
  // order (get_placeholder_mask + masked_scatter).
  const at::Tensor is_image = ids.eq(config_.image_token_id);
  std::vector<const EncodedInput*> images;
  std::vector<std::int64_t> rows;
  for (std::int64_t b = 0; b < ids.size(0); ++b) {
    if (!is_image[b].any().item<bool>()) continue;
    if (static_cast<std::size_t>(b) >= batch.inputs.size() || !batch.inputs[b])
      fail("llava_onevision", "batch row " + std::to_string(b) + " has image tokens but no encoded input");
    images.push_back(batch.inputs[b]);
    rows.push_back(b);
  }
  if (!images.empty()) {
    const std::vector<at::Tensor> features = image_features_batch(images, hooks);
    if (x.size(0) != ids.size(0)) fail("hook_embed", "a write hook changed the batch; images cannot be placed");
    x = x.clone();  // never write into a tensor a hook may still hold
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const at::Tensor positions = is_image[rows[i]].nonzero().squeeze(1);
      if (positions.size(0) != features[i].size(0))
        fail("input '" + images[i]->spec.id + "'", "image features and image tokens do not match: " +
                                                       std::to_string(positions.size(0)) + " tokens, " +
                                                       std::to_string(features[i].size(0)) + " features");
      x[rows[i]].index_copy_(0, positions, features[i].to(x.scalar_type()));
    }
  }
  return HookScope(hooks, "")("hook_inputs_embeds", std::move(x));
}

at::Tensor LlavaOnevisionModel::run_blocks(at::Tensor residual, const Batch& batch, int first, int last,
                                           const HookSet* hooks) const {
  require_weights("run_blocks");
  return decoder_.run_blocks(std::move(residual), batch.attention_mask, first, last, hooks);
}

at::Tensor LlavaOnevisionModel::unembed(const at::Tensor& residual, const HookSet* hooks) const {
  require_weights("unembed");
  return decoder_.unembed(residual, hooks);
}

}  // namespace mechlens::models::llava_onevision
