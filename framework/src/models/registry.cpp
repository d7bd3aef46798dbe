#include "models/registry.hpp"

#include <filesystem>
#include <map>

#include "checkpoint/config.hpp"
#include "mechlens/error.hpp"

namespace mechlens::models {
namespace {

// The list from adapters.cpp, plus anything registered at run time.
std::map<std::string, AdapterEntry>& loaders() {
  static std::map<std::string, AdapterEntry> table = [] {
    std::map<std::string, AdapterEntry> t;
    for (const auto& entry : builtin_adapters()) t[entry.name] = entry;
    return t;
  }();
  return table;
}

std::string known() {
  std::string list;
  for (const auto& [name, loader] : loaders()) list += (list.empty() ? "" : ", ") + name;
  return list.empty() ? "none" : list;
}

bool serves(const AdapterEntry& entry, const std::string& model_type) {
  if (entry.model_types.empty()) return entry.name == model_type;
  for (const auto& t : entry.model_types)
    if (t == model_type) return true;
  return false;
}

}  // namespace

bool register_adapter(const std::string& name, Loader loader, std::string summary,
                      std::vector<std::string> model_types) {
  loaders()[name] = {name, std::move(loader), std::move(summary), std::move(model_types)};
  return true;
}

std::vector<AdapterInfo> adapters() {
  std::vector<AdapterInfo> out;
  for (const auto& [name, entry] : loaders()) out.push_back({name, entry.summary});
  return out;
}

std::vector<std::string> adapter_names() {
  std::vector<std::string> names;
  for (const auto& [name, loader] : loaders()) names.push_back(name);
  return names;
}

std::unique_ptr<Model> load(const std::string& adapter, const LoadOptions& options) {
  const std::string name = adapter.empty() || adapter == "auto" ? detect_adapter(options.path) : adapter;
  const auto it = loaders().find(name);
  if (it == loaders().end()) fail("model.adapter", "unknown adapter '" + name + "' (known: " + known() + ")");
  return it->second.loader(options);
}

std::string detect_adapter(const std::string& path) {
  const std::string file = (std::filesystem::path(path) / "config.json").string();
  if (!std::filesystem::exists(file)) fail(file, "missing: not a Hugging Face checkpoint directory");
  const auto config = checkpoint::Config::load(file);
  const auto model_type = config.get<std::string>("model_type");
  for (const auto& [name, entry] : loaders())
    if (serves(entry, model_type)) return name;
  fail(file + ": key 'model_type'", "'" + model_type + "' has no adapter (known: " + known() + ")");
}

}  // namespace mechlens::models
