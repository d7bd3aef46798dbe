#pragma once
// schemas/recipe.schema.toml read into memory. The file is the one source of
// truth: the validator (check.hpp) and the loader (load.cpp) only know what
// this model holds. The vocabulary is described at the top of the file.
#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "mechlens/params.hpp"

namespace mechlens::recipe::detail {

enum class PathKind { none, file, dir };

struct KeySpec {
  std::string name;
  ParamType type = ParamType::string;
  bool required = false;
  std::optional<ParamValue> default_value;
  std::string default_from;      // another key of the entry
  std::string computed_default;  // the loader computes it; this says how
  std::optional<double> min, max;
  std::vector<std::string> allowed;
  std::string pattern, pattern_doc;
  std::optional<std::regex> regex;  // `pattern`, compiled
  PathKind path = PathKind::none;
  bool must_exist = false;
  bool unique = false;
  std::string doc;
  int line = 0;  // in the schema file
};

struct ShapeSpec {
  std::string name;          // "" for a section with one shape
  std::string when_present;  // "" for the fallback shape
  std::vector<std::string> require_any;
  std::string doc;
  std::map<std::string, KeySpec> keys;

  const KeySpec* key(const std::string& name) const;
  std::vector<std::string> key_names() const;
};

struct SectionSpec {
  std::string name;
  bool array = false;  // [[name]] rather than [name]
  bool required = false;
  std::int64_t min_items = 0;
  std::string select_by;
  bool open = false;
  std::string open_doc, doc;
  std::vector<ShapeSpec> shapes;  // at least one; the fallback shape last-resort

  // The shape whose `when_present` key `has` reports, else the fallback.
  template <typename Has>
  const ShapeSpec& shape_for(Has has) const {
    for (const ShapeSpec& s : shapes)
      if (!s.when_present.empty() && has(s.when_present)) return s;
    for (const ShapeSpec& s : shapes)
      if (s.when_present.empty()) return s;
    return shapes.front();
  }
  // Names of the keys any of the shapes declares.
  std::vector<std::string> key_names() const;
  // "inputs(image folder)" for a shaped section, else "model".
  std::string shape_label(const ShapeSpec& shape) const;
};

struct Schema {
  std::int64_t version = 0;
  std::string doc;
  std::map<std::string, SectionSpec> sections;

  const SectionSpec* section(const std::string& name) const;
  std::vector<std::string> section_names() const;
  std::string section_list() const;  // "[[analysis]], [experiment], ..." for messages
  // Every declared key as "section.key" or "section(shape).key", the ids
  // keys_read() records.
  std::vector<std::string> key_ids() const;
};

// Reads a schema text; `name` names it in errors ("recipe.schema.toml:12: ...").
Schema parse_schema(const std::string& text, const std::string& name);

// The embedded schemas/recipe.schema.toml, parsed once.
const Schema& schema();

}  // namespace mechlens::recipe::detail
