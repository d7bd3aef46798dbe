#pragma once
// Layer indices in analysis parameters checked against the checkpoint's
// config.json, without loading weights, so that `mechlens validate` refuses
// `layers = [99]` as `run` would (after loading the model). By convention a
// plugin parameter named `layers` (int[]) or `layer` (int) holds layer
// indices of the language model.
#include <optional>
#include <vector>

#include "host/prepare.hpp"

namespace mechlens::host {

// The language model's layer count from `<model.path>/config.json`
// (num_hidden_layers, or text_config.num_hidden_layers for vision-language
// models); nullopt when there is no readable config or no such key (the
// model load reports those).
std::optional<std::int64_t> config_layer_count(const std::string& model_path);

// Throws naming the recipe line, the analysis, the index and the range.
void check_layer_params(const std::vector<PreparedAnalysis>& analyses, const std::string& model_path);

}  // namespace mechlens::host
