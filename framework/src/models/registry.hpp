#pragma once
// Adapters by name ("bert", "llava_onevision", ...). Every adapter is listed
// once, explicitly, in models/adapters.cpp (builtin_adapters()); the host
// creates models from the recipe's [model] section.
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
  // How an adapter with a LoRA adapter runs it (phi4mm's vision LoRA): "runtime"
  // (a low-rank path beside the base weights) or "merged" (folded in at load).
  std::string lora = "runtime";
};

using Loader = std::function<std::unique_ptr<Model>(const LoadOptions&)>;

// One line of the adapter list (models/adapters.cpp).
struct AdapterEntry {
  std::string name;                      // the recipe's model.adapter
  Loader loader;
  std::string summary;                   // one line: the family and the checkpoints it reads
  std::vector<std::string> model_types;  // config.json model_type values it serves ({} = {name})
};
// The list itself, in adapters.cpp: add a new adapter there.
const std::vector<AdapterEntry>& builtin_adapters();

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
// An adapter outside the list (tests, experiments); the list is the place for real ones.
bool register_adapter(const std::string& name, Loader loader, std::string summary = "",
                      std::vector<std::string> model_types = {});

}  // namespace mechlens::models
