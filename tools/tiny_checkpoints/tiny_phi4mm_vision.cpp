#include "tiny_phi4mm_vision.hpp"

#include <cmath>
#include <string>

#include "mechlens/error.hpp"

namespace mechlens::tiny {

using json = nlohmann::json;

void add_tiny_phi4mm_vision_tensors(TensorWriter& w, const TinyPhi4mmVisionOptions& o, std::int64_t d_model,
                                    bool native_layout) {
  if (o.d % o.heads != 0) fail("tiny phi4mm vision", "d must be a multiple of heads");
  if (o.crop_size % o.patch_size != 0 || (o.crop_size / o.patch_size) % 2 != 0)
    fail("tiny phi4mm vision", "crop_size must be an even number of patches (2x2 pooling)");
  const std::string e = "model.embed_tokens_extend.image_embed.";
  const std::string t = e + "img_processor.";
  const std::int64_t Dv = o.d, Fv = o.ff, P = o.patch_size, G = o.crop_size / o.patch_size, D = d_model;
  w.add(t + "embeddings.patch_embedding.weight", {Dv, 3, P, P}, 1.0 / std::sqrt(3.0 * P * P));
  w.add(t + "embeddings.patch_embedding.bias", {Dv}, 0.1);
  w.add(t + "embeddings.position_embedding.weight", {G * G, Dv}, 0.5);
  for (int l = 0; l < o.layers; ++l) {
    const std::string b = t + "encoder.layers." + std::to_string(l) + ".";
    w.norm(b + "layer_norm1", Dv, true);
    w.linear(b + "self_attn.q_proj", Dv, Dv);
    w.linear(b + "self_attn.k_proj", Dv, Dv);
    w.linear(b + "self_attn.v_proj", Dv, Dv);
    w.linear(b + "self_attn.out_proj", Dv, Dv);
    w.norm(b + "layer_norm2", Dv, true);
    w.linear(b + "mlp.fc1", Fv, Dv);
    w.linear(b + "mlp.fc2", Dv, Fv);
  }
  if (o.with_post_layernorm) w.norm(t + "post_layernorm", Dv, true);
  // Separators live in the tower's feature space (avg_pool_2d keeps Dv) and
  // go through the projection like the features; not zero, so a swap shows.
  w.add(e + (native_layout ? "global_img_feature_extensor" : "glb_GN"), {1, 1, Dv}, 0.5);
  w.add(e + (native_layout ? "sub_img_feature_extensor" : "sub_GN"), {1, 1, 1, Dv}, 0.5, 0.2);
  w.linear(e + (native_layout ? "img_projection_up" : "img_projection.0"), D, Dv);
  w.linear(e + (native_layout ? "img_projection_down" : "img_projection.2"), D, D);
}

json tiny_phi4mm_vision_config(const TinyPhi4mmVisionOptions& o) {
  return {{"embd_layer",
           {{"embedding_cls", "image_audio"},
            {"image_embd_layer",
             {{"crop_size", o.crop_size},
              {"embedding_cls", "tune_image"},
              {"enable_gradient_checkpointing", true},
              {"hd_transform_order", "sub_glb"},
              {"image_token_compression_cls", "avg_pool_2d"},
              {"projection_cls", "mlp"},
              {"use_hd_transform", true},
              {"with_learnable_separator", true}}}}},
          {"vision_config",
           {{"attention_dropout", 0.0},
            {"crop_size", o.crop_size},
            {"feature_layer", o.feature_layer},
            {"hidden_act", "gelu_pytorch_tanh"},
            {"hidden_size", o.d},
            {"image_size", o.crop_size},
            {"image_token_id", 200010},
            {"intermediate_size", o.ff},
            {"layer_norm_eps", 1e-6},
            {"model_type", "phi4_multimodal_vision"},
            {"num_attention_heads", o.heads},
            {"num_channels", 3},
            {"num_hidden_layers", o.layers},
            {"patch_size", o.patch_size}}}};
}

json tiny_phi4mm_preprocessor_config(const TinyPhi4mmVisionOptions& o, bool native_layout) {
  if (native_layout)
    return {{"dynamic_hd", 36},
            {"image_mean", {0.5, 0.5, 0.5}},
            {"image_std", {0.5, 0.5, 0.5}},
            {"image_processor_type", "Phi4MultimodalImageProcessorFast"},
            {"image_size", o.crop_size},
            {"patch_size", o.patch_size},
            {"processor_class", "Phi4MultimodalProcessor"}};
  return {{"auto_map",
           {{"AutoFeatureExtractor", "processing_phi4mm.Phi4MMAudioFeatureExtractor"},
            {"AutoImageProcessor", "processing_phi4mm.Phi4MMImageProcessor"},
            {"AutoProcessor", "processing_phi4mm.Phi4MMProcessor"}}},
          {"audio_compression_rate", 8},
          {"audio_downsample_rate", 1},
          {"audio_feat_stride", 1},
          {"dynamic_hd", 36},
          {"feature_extractor_type", "Phi4MMAudioFeatureExtractor"},
          {"image_processor_type", "Phi4MMImageProcessor"},
          {"processor_class", "Phi4MMProcessor"}};
}

}  // namespace mechlens::tiny
