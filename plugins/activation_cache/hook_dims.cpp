#include "hook_dims.hpp"

namespace activation_cache {

namespace {
bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}
}  // namespace

HookLayout hook_layout(const std::string& name, long rank) {
  if (ends_with(name, "hook_pattern") || ends_with(name, "hook_attn_scores"))
    return {{"head", "q_pos", "k_pos"}, 1};
  if (ends_with(name, "hook_q") || ends_with(name, "hook_z")) return {{"pos", "head", "d_head"}, 0};
  if (ends_with(name, "hook_k") || ends_with(name, "hook_v")) return {{"pos", "kv_head", "d_head"}, 0};
  if (rank == 2) return {{"pos", "d_model"}, 0};
  // Unknown layout: generic names, positions assumed first.
  HookLayout layout;
  layout.dims.push_back("pos");
  for (long d = 1; d < rank; ++d) layout.dims.push_back("dim" + std::to_string(d));
  return layout;
}

}  // namespace activation_cache
