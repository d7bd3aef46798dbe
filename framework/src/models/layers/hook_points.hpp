#pragma once
// The hook points each shared layer fires, with their axes, declared once
// beside the layers that fire them (attention.cpp, rotary_attention.cpp and
// the blocks of every adapter use these names).
#include <string>
#include <vector>

#include "mechlens/model.hpp"

namespace mechlens::layers {

// Axis names of one stack. A vision tower gets names of its own (its batch
// is the crops, its positions are patches, its widths differ from the
// language model's), so a reader holding both never mixes their sizes.
struct HookAxes {
  std::string batch = "batch";
  std::string pos = "pos";
  std::string d_model = "d_model";
  std::string head = "head";
  std::string kv_head = "kv_head";
  std::string d_head = "d_head";
  std::string q_pos = "q_pos";
  std::string k_pos = "k_pos";
};
HookAxes language_axes();
HookAxes vision_axes();  // crop, patch, d_vision, vision_head, ...

// One residual-stream point: [batch, pos, d_model].
HookPoint residual_hook(const std::string& name, const HookAxes& axes = language_axes());

// Every point of one transformer block under `prefix` ("blocks.3."):
// hook_resid_pre, attn.hook_q/k/v (k, v over kv_head), attn.hook_rot_q/k
// when `rotary`, attn.hook_attn_scores_unmasked, attn.hook_attn_mask (bool),
// attn.hook_attn_scores and attn.hook_pattern [batch, head, q_pos, k_pos],
// attn.hook_z, hook_attn_out, hook_mlp_out, hook_resid_post.
void append_block_hooks(std::vector<HookPoint>& out, const std::string& prefix, bool rotary,
                        const HookAxes& axes = language_axes());

// A rotary decoder stack (Qwen2, Phi-4-mini): blocks.0..n-1.* and
// ln_final.hook_normalized.
std::vector<HookPoint> rotary_decoder_hooks(int n_layers);

}  // namespace mechlens::layers
