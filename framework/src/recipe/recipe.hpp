#pragma once
// A recipe: [experiment], [model], [[inputs]], [[analysis]] (DESIGN.md).
// Loaded with TOML++, validated against schemas/recipe.schema.toml (embedded
// in the binary: one source of truth), `${VAR}` expanded, paths made absolute
// relative to the recipe file, `--set key=value` overrides applied first.
// Every error names the file, the key and the line.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mechlens/input.hpp"
#include "mechlens/params.hpp"

namespace mechlens::recipe {

struct Source {  // where a value came from, for error messages
  std::string file;
  int line = 0;  // 0: the value came from a --set override
  std::string where() const { return file + ":" + (line > 0 ? std::to_string(line) : std::string("--set")); }
};

struct Experiment {
  std::string name;
  std::string description;
  std::int64_t seed = 0;
  std::string output;  // absolute path of the archive (default: <recipe dir>/<name>.h5)
};

struct ModelSection {
  std::string adapter;  // "bert", "llava_onevision", ...
  std::string path;     // absolute checkpoint directory
  std::string dtype;    // "float32" | "bfloat16" | "float16" | "float64"
  std::string device;   // "cpu" | "cuda" | "cuda:N"
  std::int64_t threads = 0;  // 0 = number of cores
  std::string lora;     // "runtime" | "merged": how phi4mm runs its vision LoRA
};

// One [[analysis]] entry: the plugin's parameters stay raw until the plugin's
// ParamSpec list is known (validate_params).
struct AnalysisEntry {
  std::string plugin;  // plugin name
  std::string name;    // group name in the archive (default: plugin)
  std::map<std::string, ParamValue> raw;        // as written (types as TOML gave them)
  std::map<std::string, Source> raw_sources;    // line of each key
  Source source;
  std::size_t index = 0;  // position among the recipe's [[analysis]] entries

  std::string label() const { return "analysis[" + std::to_string(index) + "] (" + plugin + ")"; }
};

struct Recipe {
  std::string path;  // absolute
  std::string text;  // the file as written (provenance)
  std::vector<std::string> overrides;  // the --set strings applied
  Experiment experiment;
  ModelSection model;
  std::vector<InputSpec> inputs;  // folders of images already expanded, in sorted order
  std::vector<AnalysisEntry> analyses;
};

// `overrides` are "dotted.key=value" (value parsed as TOML: 3, 0.5, "x", true, [1,2]),
// e.g. "model.dtype=\"bfloat16\"" or "analysis.0.metric=\"kl\"".
Recipe load(const std::string& path, const std::vector<std::string>& overrides = {});

// Checks an analysis' raw parameters against the plugin's declaration: unknown
// keys, wrong types, values outside min/max or `allowed`, missing required
// ones are errors naming file, key and line. Defaults fill the rest.
ParamValues validate_params(const AnalysisEntry& entry, const std::vector<ParamSpec>& specs);

// The schema text (schemas/recipe.schema.toml), for `mechlens describe recipe`.
const char* schema_text();

}  // namespace mechlens::recipe
