#pragma once
// The `layers` parameter the per-layer analyses share: explicit layer indices
// (checked against the model's depth), or every layer when the list is empty.
#include <cstdint>
#include <string>
#include <vector>

#include "mechlens/error.hpp"
#include "mechlens/params.hpp"

namespace mechlens {

// params[key] as layer indices; an index outside 0..n_layers-1 fails naming
// `where` (the plugin and key) and the index.
inline std::vector<int> chosen_layers(const ParamValues& params, int n_layers, const std::string& where,
                                      const std::string& key = "layers") {
  std::vector<int> layers;
  for (std::int64_t l : params.get<std::vector<std::int64_t>>(key)) {
    if (l < 0 || l >= n_layers)
      fail(where, "layer " + std::to_string(l) + " outside 0.." + std::to_string(n_layers - 1));
    layers.push_back(static_cast<int>(l));
  }
  if (layers.empty())
    for (int l = 0; l < n_layers; ++l) layers.push_back(l);
  return layers;
}

}  // namespace mechlens
