#include "models/phi4mm/phi4mm_image_encoder.hpp"

#include <ATen/ATen.h>

#include <cmath>

#include "mechlens/error.hpp"
#include "models/layers/activations.hpp"

namespace mechlens::models::phi4mm {

namespace {

const std::string kEmbed = "model.embed_tokens_extend.image_embed.";
const std::string kTower = kEmbed + "img_processor.";

// Keys of the table (the remote spelling first).
const std::string kGlb = kEmbed + "glb_GN";
const std::string kSub = kEmbed + "sub_GN";
const std::string kUpW = kEmbed + "img_projection.0.weight";
const std::string kUpB = kEmbed + "img_projection.0.bias";
const std::string kDownW = kEmbed + "img_projection.2.weight";
const std::string kDownB = kEmbed + "img_projection.2.bias";

const char* const kLayerNames[] = {"layer_norm1", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                   "self_attn.out_proj", "layer_norm2", "mlp.fc1", "mlp.fc2"};

}  // namespace

checkpoint::TensorTable image_encoder_table(const Phi4mmImageConfig& c) {
  checkpoint::TensorTable t("phi4mm image encoder");
  const std::int64_t D = c.tower.hidden_size, F = c.tower.intermediate_size, P = c.tower.patch_size;
  const std::int64_t dm = c.d_model;
  t.add(kTower + "embeddings.patch_embedding.weight", {D, c.tower.num_channels, P, P});
  t.add(kTower + "embeddings.patch_embedding.bias", {D});
  t.add(kTower + "embeddings.position_embedding.weight", {c.tower.num_patches(), D});
  const int n = c.hidden_index();
  if (n > 0) {
    const std::string l = kTower + "encoder.layers.{i}.";
    for (const char* norm : {"layer_norm1", "layer_norm2"}) {
      t.add(l + norm + ".weight", {D}).layers(n);
      t.add(l + norm + ".bias", {D}).layers(n);
    }
    const std::pair<const char*, std::pair<std::int64_t, std::int64_t>> linears[] = {
        {"self_attn.q_proj", {D, D}}, {"self_attn.k_proj", {D, D}}, {"self_attn.v_proj", {D, D}},
        {"self_attn.out_proj", {D, D}}, {"mlp.fc1", {F, D}}, {"mlp.fc2", {D, F}}};
    for (const auto& [name, shape] : linears) {
      t.add(l + name + ".weight", {shape.first, shape.second}).layers(n);
      t.add(l + name + ".bias", {shape.first}).layers(n);
    }
  }
  for (const std::string& glob : siglip::siglip_unused_tensors(kTower, n, c.tower.num_layers)) t.ignore(glob);
  t.add(kGlb, {1, 1, D}).or_named(kEmbed + "global_img_feature_extensor");
  t.add(kSub, {1, 1, 1, D}).or_named(kEmbed + "sub_img_feature_extensor");
  t.add(kUpW, {dm, D}).or_named(kEmbed + "img_projection_up.weight");
  t.add(kUpB, {dm}).or_named(kEmbed + "img_projection_up.bias");
  t.add(kDownW, {dm, dm}).or_named(kEmbed + "img_projection_down.weight");
  t.add(kDownB, {dm}).or_named(kEmbed + "img_projection_down.bias");
  return t;
}

PreparedImage prepare_image(const vision::RgbImage& image, const Phi4mmImageConfig& config) {
  PreparedImage p;
  p.pixels = hd_transform(image, config.hd);
  p.annotations = hd_annotations(p.pixels.geometry, config.hd);
  return p;
}

at::Tensor navit_position_ids(const at::Tensor& patch_mask) {
  if (patch_mask.dim() != 3 || patch_mask.size(1) != patch_mask.size(2))
    fail("phi4mm image encoder", "patch mask of shape " + std::string(c10::str(patch_mask.sizes())) + ", expected [N, G, G]");
  const std::int64_t N = patch_mask.size(0), G = patch_mask.size(1);
  const at::Tensor mask = patch_mask.to(at::kBool).contiguous();
  // boundaries = torch.arange(1 / G, 1.0, 1 / G) in float32 (values start + i step in double, then rounded).
  const double bstep = 1.0 / double(G);
  const auto n_bounds = static_cast<std::int64_t>(std::ceil((1.0 - bstep) / bstep));
  std::vector<float> bounds;
  for (std::int64_t j = 0; j < n_bounds; ++j) bounds.push_back(static_cast<float>(bstep + double(j) * bstep));
  // fractional = torch.arange(0, 1 - 1e-6, 1 / n): 1 / n is float32, read back as a double step.
  const auto buckets = [&](std::int64_t n) {
    const double step = static_cast<double>(1.0f / static_cast<float>(n));
    const auto len = static_cast<std::int64_t>(std::ceil((1.0 - 1e-6) / step));
    std::vector<std::int64_t> out;
    for (std::int64_t i = 0; i < len; ++i) {
      const float x = static_cast<float>(double(i) * step);
      std::int64_t b = 0;
      for (float bound : bounds) b += bound <= x;  // bucketize(right=True): boundaries <= x
      out.push_back(b);
    }
    return out;
  };
  at::Tensor ids = at::zeros({N, G * G}, at::kLong);
  auto acc = ids.accessor<std::int64_t, 2>();
  auto m = mask.accessor<bool, 3>();
  for (std::int64_t b = 0; b < N; ++b) {
    std::int64_t nh = 0, nw = 0;
    for (std::int64_t y = 0; y < G; ++y) nh += m[b][y][0];
    for (std::int64_t x = 0; x < G; ++x) nw += m[b][0][x];
    if (nh == 0 || nw == 0) fail("phi4mm image encoder", "crop " + std::to_string(b) + " has no real patch");
    const auto bh = buckets(nh), bw = buckets(nw);
    std::vector<std::int64_t> pos;
    for (std::int64_t h : bh)
      for (std::int64_t w : bw) pos.push_back(h * G + w);
    // position_ids[mask] = pos_ids: the real patches in row-major order.
    std::size_t k = 0;
    for (std::int64_t y = 0; y < G; ++y)
      for (std::int64_t x = 0; x < G; ++x)
        if (m[b][y][x]) {
          if (k >= pos.size()) fail("phi4mm image encoder", "crop " + std::to_string(b) + ": patch mask is not a rectangle");
          acc[b][y * G + x] = pos[k++];
        }
    if (k != pos.size()) fail("phi4mm image encoder", "crop " + std::to_string(b) + ": patch mask is not a rectangle");
  }
  return ids;
}

Phi4mmImageEncoder Phi4mmImageEncoder::load(const checkpoint::TensorSet& t, const Phi4mmImageConfig& c,
                                            const at::TensorOptions& options) {
  Phi4mmImageEncoder e;
  e.config_ = c;
  const std::int64_t D = c.tower.hidden_size;
  std::vector<siglip::SiglipLayerWeights> tower_layers;
  const std::string l = kTower + "encoder.layers.{i}.";
  for (int i = 0; i < c.hidden_index(); ++i) {
    const auto linear = [&](const char* name) {
      return layers::Linear{t.load(l + name + ".weight", options, i), t.load(l + name + ".bias", options, i)};
    };
    const auto norm = [&](const char* name) {
      return layers::LayerNorm{t.load(l + name + ".weight", options, i), t.load(l + name + ".bias", options, i),
                               c.tower.layer_norm_eps};
    };
    siglip::SiglipLayerWeights w;
    w.layer_norm1 = norm(kLayerNames[0]);
    w.q_proj = linear(kLayerNames[1]);
    w.k_proj = linear(kLayerNames[2]);
    w.v_proj = linear(kLayerNames[3]);
    w.out_proj = linear(kLayerNames[4]);
    w.layer_norm2 = norm(kLayerNames[5]);
    w.fc1 = linear(kLayerNames[6]);
    w.fc2 = linear(kLayerNames[7]);
    tower_layers.push_back(std::move(w));
  }
  e.tower_ = siglip::SiglipTower(c.tower, t.load(kTower + "embeddings.patch_embedding.weight", options),
                                 t.load(kTower + "embeddings.patch_embedding.bias", options),
                                 t.load(kTower + "embeddings.position_embedding.weight", options), std::move(tower_layers));
  e.glb_gn_ = t.load(kGlb, options).reshape({D});
  e.sub_gn_ = t.load(kSub, options).reshape({D});
  e.up_ = layers::Linear{t.load(kUpW, options), t.load(kUpB, options)};
  e.down_ = layers::Linear{t.load(kDownW, options), t.load(kDownB, options)};
  e.layout_ = t.spelling(kGlb) == 0 ? "remote (glb_GN, sub_GN, img_projection.0/.2)"
                                    : "native (global_img_feature_extensor, sub_img_feature_extensor, img_projection_up/_down)";
  if (t.spelling(kUpW) != t.spelling(kGlb))
    fail(t.checkpoint().directory(), "image encoder mixes the remote and native spellings ('" + t.name(kGlb) + "' with '" +
                                         t.name(kUpW) + "')");
  return e;
}

std::vector<HookPoint> Phi4mmImageEncoder::hook_points() const {
  std::vector<HookPoint> points = tower_.hook_points();
  points.push_back({"vision.hook_features", {"crop", "patch", "d_vision"}});
  points.push_back({"vision.hook_pooled", {"crop", "pooled_patch", "d_vision"}});
  points.push_back({"vision.hook_projected", {"image_token", "d_model"}});
  return points;
}

at::Tensor Phi4mmImageEncoder::features(const at::Tensor& pixel_values, const at::Tensor& patch_mask,
                                        const HdGeometry& g, const HookSet* hooks) const {
  const std::int64_t G = config_.tower.grid(), N = 1 + g.crops(), S = config_.hd.crop_size;
  if (pixel_values.dim() != 4 || pixel_values.size(0) != N || pixel_values.size(2) != S || pixel_values.size(3) != S)
    fail("phi4mm image encoder", "pixel values of shape " + std::string(c10::str(pixel_values.sizes())) + " for " +
                                     std::to_string(g.crops()) + " crops of " + std::to_string(S) + " px (plus the global view)");
  if (patch_mask.dim() != 3 || patch_mask.size(0) != N || patch_mask.size(1) != G || patch_mask.size(2) != G)
    fail("phi4mm image encoder", "patch mask of shape " + std::string(c10::str(patch_mask.sizes())) + ", expected [" +
                                     std::to_string(N) + ", " + std::to_string(G) + ", " + std::to_string(G) + "]");
  const HookScope scope(hooks, "");
  siglip::SiglipTower::PatchInputs patches;
  const at::Tensor key_mask = patch_mask.to(at::kBool).reshape({N, G * G});
  patches.position_ids = navit_position_ids(patch_mask);
  // HF drops the mask when every patch is real (the same result); so here.
  if (!key_mask.all().item<bool>()) patches.key_mask = key_mask;
  at::Tensor x = tower_.hidden_states(pixel_values, {config_.hidden_index()}, hooks, patches)[0];
  x = scope("vision.hook_features", std::move(x));

  // AvgPool2d(2, 2) on [N, C, G, G] (reflection-padded by one on the right/bottom when G is odd).
  const std::int64_t C = x.size(-1);
  at::Tensor grid = x.reshape({N, G, G, C}).permute({0, 3, 1, 2});
  if (G % 2 != 0) grid = at::reflection_pad2d(grid, {0, 1, 0, 1});
  at::Tensor pooled = at::avg_pool2d(grid, {2, 2}, {2, 2}).permute({0, 2, 3, 1});  // [N, side, side, C]
  const std::int64_t side = pooled.size(1);
  if (side != g.side) fail("phi4mm image encoder", "pooled grid of " + std::to_string(side) + " per side, geometry says " + std::to_string(g.side));
  pooled = scope("vision.hook_pooled", pooled.reshape({N, side * side, C})).reshape({N, side, side, C});

  // sub_glb: the crops' grid (rows of crops, each crop's rows) cut to the kept tokens, sub_GN after each row.
  const at::Tensor subs = pooled.narrow(0, 1, g.crops())
                              .reshape({g.crops_h, g.crops_w, side, side, C})
                              .permute({0, 2, 1, 3, 4})
                              .reshape({g.crops_h * side, g.crops_w * side, C})
                              .narrow(0, 0, g.token_rows)
                              .narrow(1, 0, g.token_cols);
  const auto with_separator = [&](const at::Tensor& rows) {
    const at::Tensor sep = sub_gn_.to(rows.scalar_type()).view({1, 1, C}).expand({rows.size(0), 1, C});
    return at::cat({rows, sep}, 1).reshape({-1, C});
  };
  const at::Tensor sequence = at::cat(
      {with_separator(subs), glb_gn_.to(subs.scalar_type()).view({1, C}), with_separator(pooled[0])}, 0);
  if (sequence.size(0) != g.tokens())
    fail("phi4mm image encoder", std::to_string(sequence.size(0)) + " rows for " + std::to_string(g.tokens()) + " image tokens");
  at::Tensor out = down_(layers::activate(layers::Activation::gelu, up_(sequence)));
  return scope("vision.hook_projected", std::move(out));
}

at::Tensor Phi4mmImageEncoder::encode_image(const vision::RgbImage& image, std::vector<TokenAnnotation>* annotations,
                                            const HookSet* hooks) const {
  PreparedImage p = prepare_image(image, config_);
  if (annotations) *annotations = std::move(p.annotations);
  return features(p.pixels.pixel_values, p.pixels.patch_mask, p.pixels.geometry, hooks);
}

}  // namespace mechlens::models::phi4mm
