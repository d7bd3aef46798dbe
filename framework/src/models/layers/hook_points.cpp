#include "models/layers/hook_points.hpp"

namespace mechlens::layers {

HookAxes language_axes() { return {}; }

HookAxes vision_axes() {
  return {"crop", "patch", "d_vision", "vision_head", "vision_head", "vision_d_head", "q_patch", "k_patch"};
}

HookPoint residual_hook(const std::string& name, const HookAxes& a) { return {name, {a.batch, a.pos, a.d_model}}; }

void append_block_hooks(std::vector<HookPoint>& out, const std::string& prefix, bool rotary, const HookAxes& a) {
  out.push_back(residual_hook(prefix + "hook_resid_pre", a));
  out.push_back({prefix + "attn.hook_q", {a.batch, a.pos, a.head, a.d_head}});
  out.push_back({prefix + "attn.hook_k", {a.batch, a.pos, a.kv_head, a.d_head}});
  out.push_back({prefix + "attn.hook_v", {a.batch, a.pos, a.kv_head, a.d_head}});
  if (rotary) {
    out.push_back({prefix + "attn.hook_rot_q", {a.batch, a.pos, a.head, a.d_head}});
    out.push_back({prefix + "attn.hook_rot_k", {a.batch, a.pos, a.kv_head, a.d_head}});
  }
  out.push_back({prefix + "attn.hook_attn_scores_unmasked", {a.batch, a.head, a.q_pos, a.k_pos}});
  out.push_back({prefix + "attn.hook_attn_mask", {a.batch, a.head, a.q_pos, a.k_pos}});
  out.push_back({prefix + "attn.hook_attn_scores", {a.batch, a.head, a.q_pos, a.k_pos}});
  out.push_back({prefix + "attn.hook_pattern", {a.batch, a.head, a.q_pos, a.k_pos}});
  out.push_back({prefix + "attn.hook_z", {a.batch, a.pos, a.head, a.d_head}});
  out.push_back(residual_hook(prefix + "hook_attn_out", a));
  out.push_back(residual_hook(prefix + "hook_mlp_out", a));
  out.push_back(residual_hook(prefix + "hook_resid_post", a));
}

std::vector<HookPoint> rotary_decoder_hooks(int n_layers) {
  std::vector<HookPoint> points;
  for (int l = 0; l < n_layers; ++l) append_block_hooks(points, "blocks." + std::to_string(l) + ".", /*rotary=*/true);
  points.push_back(residual_hook("ln_final.hook_normalized"));
  return points;
}

}  // namespace mechlens::layers
