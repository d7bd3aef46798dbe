#pragma once
// Dimension names of a hook point's tensor (batch dropped), from its name.
#include <string>
#include <vector>

namespace activation_cache {

struct HookLayout {
  std::vector<std::string> dims;  // e.g. {"pos", "head", "d_head"}
  int pos_axis = 0;               // the query-position axis to select positions on
};

HookLayout hook_layout(const std::string& hook_name, long rank_without_batch);

}  // namespace activation_cache
