#include "host/layer_check.hpp"

#include <filesystem>

#include "checkpoint/config.hpp"
#include "mechlens/error.hpp"

namespace mechlens::host {

std::optional<std::int64_t> config_layer_count(const std::string& model_path) {
  const std::filesystem::path file = std::filesystem::path(model_path) / "config.json";
  std::error_code ec;
  if (model_path.empty() || !std::filesystem::is_regular_file(file, ec)) return std::nullopt;
  try {
    const checkpoint::Config config = checkpoint::Config::load(file.string());
    if (config.has("num_hidden_layers")) return config.get<std::int64_t>("num_hidden_layers");
    if (config.has("text_config") && config.child("text_config").has("num_hidden_layers"))
      return config.child("text_config").get<std::int64_t>("num_hidden_layers");
  } catch (const Error&) {
    // An unreadable config is the model load's to report, with its own context.
  }
  return std::nullopt;
}

void check_layer_params(const std::vector<PreparedAnalysis>& analyses, const std::string& model_path) {
  std::optional<std::int64_t> n_layers;
  bool looked = false;
  for (const PreparedAnalysis& a : analyses) {
    for (const auto& [name, value] : a.params.all()) {
      std::vector<std::int64_t> indices;
      if (name == "layers" && std::holds_alternative<std::vector<std::int64_t>>(value))
        indices = std::get<std::vector<std::int64_t>>(value);
      else if (name == "layer" && std::holds_alternative<std::int64_t>(value))
        indices = {std::get<std::int64_t>(value)};
      if (indices.empty()) continue;
      if (!looked) n_layers = config_layer_count(model_path), looked = true;
      if (!n_layers) return;
      for (std::int64_t l : indices) {
        if (l >= 0 && l < *n_layers) continue;
        const auto it = a.entry->raw_sources.find(name);
        const std::string where = it != a.entry->raw_sources.end() ? it->second.where() : a.entry->source.where();
        fail(where, a.entry->label() + ": " + name + ": layer " + std::to_string(l) + " is outside 0.." +
                        std::to_string(*n_layers - 1) + " (config.json: the model has " + std::to_string(*n_layers) +
                        " layers)");
      }
    }
  }
}

}  // namespace mechlens::host
