#pragma once
// Adapters by name ("bert", "llava_onevision", ...). Each adapter registers a
// loader; the host creates models from the recipe's [model] section.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mechlens/model.hpp"

namespace mechlens::models {

struct LoadOptions {
  std::string path;             // checkpoint directory
  std::string dtype = "float32";
  std::string device = "cpu";
};

using Loader = std::function<std::unique_ptr<Model>(const LoadOptions&)>;

struct AdapterInfo {
  std::string name;     // the recipe's model.adapter, and config.json's model_type it serves
  std::string summary;  // one line: the family and the checkpoints it reads
};

std::unique_ptr<Model> load(const std::string& adapter, const LoadOptions& options);
std::vector<std::string> adapter_names();
std::vector<AdapterInfo> adapters();  // sorted by name
// The adapter for a checkpoint directory, from config.json's model_type
// ("bert" → "bert", "llava_onevision" → "llava_onevision"); error names the file.
std::string detect_adapter(const std::string& path);
// Static registration from an adapter's .cpp:
//   static const bool registered = mechlens::models::register_adapter("bert", &load_bert, "BERT ...");
bool register_adapter(const std::string& name, Loader loader, std::string summary = "");

}  // namespace mechlens::models
