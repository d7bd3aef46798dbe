#pragma once
// Validates a parsed recipe (overrides applied, ${VAR} expanded) against the
// schema: unknown sections and keys, types, min/max, allowed values, patterns,
// required keys, shapes, unique keys, paths (made absolute, checked to exist
// where the schema says so). Every error names file, key path and line.
#include <map>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "mechlens/params.hpp"
#include "recipe/recipe.hpp"
#include "recipe/schema.hpp"

namespace mechlens::recipe::detail {

struct Item {
  ParamValue value;  // of the declared type; paths absolute
  Source source;     // where it was written (the entry's line for defaults)
  bool given = false;
};

// One [section] or one [[section]] entry, checked.
struct Entry {
  std::string path;  // "model", "inputs[2]"
  std::size_t index = 0;
  Source source;
  const SectionSpec* section = nullptr;
  const ShapeSpec* shape = nullptr;
  std::map<std::string, Item> values;  // declared keys: given, or their default
  std::map<std::string, Item> open;    // keys of an open section the schema does not declare, as written
};

using Checked = std::map<std::string, std::vector<Entry>>;  // by section name; a table section has one entry

// `base_dir` is the recipe's folder (relative paths start there).
Checked check(const toml::table& root, const Schema& schema, const std::string& file, const std::string& base_dir);

}  // namespace mechlens::recipe::detail
