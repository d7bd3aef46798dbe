#include "recipe/overrides.hpp"

#include <algorithm>

#include "mechlens/error.hpp"
#include "recipe/suggest.hpp"
#include "recipe/values.hpp"

namespace mechlens::recipe::detail {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep) out.emplace_back();
    else out.back().push_back(c);
  }
  return out;
}

bool is_index(const std::string& s) {
  return !s.empty() && s.size() < 10 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The value as its own TOML document; copying the node drops its source
// position, which marks it as coming from --set in later messages.
toml::table parse_value(const std::string& value, const std::string& at) {
  try {
    return toml::parse("v = " + value);
  } catch (const toml::parse_error& e) {
    const bool looks_like_toml = !value.empty() && std::string("\"'[{").find(value[0]) != std::string::npos;
    if (value.empty() || looks_like_toml)
      fail(at, "the value " + (value.empty() ? std::string("(empty)") : value) + " is not TOML: " +
                   std::string(e.description()) + " (quote strings: key=\"text\")");
    toml::table t;
    t.insert("v", value);
    return t;
  }
}

// The entry of an array section that `selector` names (index or select_by value).
toml::table& select(toml::array& entries, const SectionSpec& section, const std::string& selector, const std::string& at) {
  if (is_index(selector)) {
    const std::size_t i = std::stoul(selector);
    if (i >= entries.size())
      fail(at, section.name + "." + selector + ": the recipe has " + std::to_string(entries.size()) + " [[" +
                   section.name + "]] entries (indices from 0)");
    return *entries.get(i)->as_table();
  }
  // By the select_by key, or what it defaults to (an analysis' name is its plugin's by default).
  std::string fallback;
  for (const ShapeSpec& shape : section.shapes)
    if (const KeySpec* k = shape.key(section.select_by)) fallback = k->default_from;
  std::vector<std::size_t> hits;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const toml::table& e = *entries.get(i)->as_table();
    const toml::node* n = e.get(section.select_by);
    if (!n && !fallback.empty()) n = e.get(fallback);
    if (n && n->is_string()) {
      names.push_back(n->as_string()->get());
      if (names.back() == selector) hits.push_back(i);
    }
  }
  if (section.select_by.empty() || hits.empty())
    fail(at, section.name + "." + selector + ": no [[" + section.name + "]] entry " +
                 (section.select_by.empty() ? "is named (use an index from 0)"
                                            : "has " + section.select_by + " '" + selector + "'" +
                                                  did_you_mean(selector, names) + "; known: " +
                                                  (names.empty() ? "none" : join(names)) +
                                                  " (or use an index from 0)"));
  if (hits.size() > 1)
    fail(at, section.name + "." + selector + " names entries " + std::to_string(hits[0]) + " and " +
                 std::to_string(hits[1]) + "; use an index");
  return *entries.get(hits[0])->as_table();
}

}  // namespace

void apply_override(toml::table& root, const std::string& assignment, const Schema& schema, const std::string& file) {
  const std::string at = file + ":--set " + assignment;
  const std::size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) fail(at, "an override is key=value, e.g. model.dtype=bfloat16");
  const std::vector<std::string> path = split(assignment.substr(0, eq), '.');
  const SectionSpec* section = schema.section(path[0]);
  if (!section)
    fail(at, "unknown section '" + path[0] + "'" + did_you_mean(path[0], schema.section_names()) +
                 "; a recipe has " + schema.section_list());
  const std::size_t want = section->array ? 3 : 2;
  if (path.size() != want || std::any_of(path.begin(), path.end(), [](const std::string& p) { return p.empty(); }))
    fail(at, section->array ? "write " + section->name + ".N.key or " + section->name + ".NAME.key"
                            : "write " + section->name + ".key");
  toml::table value = parse_value(assignment.substr(eq + 1), at);

  toml::table* target = nullptr;
  if (section->array) {
    toml::array* entries = root[section->name].as_array();
    if (!entries || !entries->is_array_of_tables())
      fail(at, "the recipe has no [[" + section->name + "]] entries to override");
    target = &select(*entries, *section, path[1], at);
  } else {
    if (!root.get(section->name)) root.insert(section->name, toml::table{});
    target = root[section->name].as_table();
    if (!target) fail(at, section->name + " is not a table in the recipe");
  }
  // Unknown keys are inserted anyway: validation then names them (with "--set"
  // for the line), exactly as it would a misspelt key in the file.
  target->insert_or_assign(path.back(), *value.get("v"));
}

}  // namespace mechlens::recipe::detail
