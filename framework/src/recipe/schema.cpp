#include "recipe/schema.hpp"

#include <algorithm>
#include <set>

#include <toml++/toml.h>

#include "mechlens/error.hpp"
#include "recipe/recipe.hpp"
#include "recipe/suggest.hpp"
#include "recipe/values.hpp"

namespace mechlens::embedded {
extern const char* const recipe_schema;  // cmake/EmbedFile.cmake
}

namespace mechlens::recipe {
const char* schema_text() { return embedded::recipe_schema; }
}  // namespace mechlens::recipe

namespace mechlens::recipe::detail {

namespace {

// Reads one table of the schema strictly: an attribute it does not know is an
// error, so a typo in the schema cannot silently switch a check off.
class Attrs {
 public:
  Attrs(const toml::table& table, std::string name, std::string path, std::vector<std::string> known)
      : table_(table), name_(std::move(name)), path_(std::move(path)) {
    for (const auto& [k, v] : table) {
      std::string key(k.str());
      if (std::find(known.begin(), known.end(), key) == known.end())
        fail(where(v), path_ + ": unknown schema attribute '" + key + "'" + did_you_mean(key, known));
    }
  }
  std::string where(const toml::node& n) const {
    return name_ + ":" + std::to_string(n.source().begin.line);
  }
  std::string where() const { return where(table_); }
  const toml::node* node(const char* key) const { return table_.get(key); }

  std::string str(const char* key, std::string def = "") const {
    const toml::node* n = table_.get(key);
    if (!n) return def;
    if (!n->is_string()) fail(where(*n), path_ + "." + key + " must be a string");
    return n->as_string()->get();
  }
  bool boolean(const char* key) const {
    const toml::node* n = table_.get(key);
    if (!n) return false;
    if (!n->is_boolean()) fail(where(*n), path_ + "." + key + " must be true or false");
    return n->as_boolean()->get();
  }
  std::optional<double> number(const char* key) const {
    const toml::node* n = table_.get(key);
    if (!n) return std::nullopt;
    if (n->is_integer()) return static_cast<double>(n->as_integer()->get());
    if (n->is_floating_point()) return n->as_floating_point()->get();
    fail(where(*n), path_ + "." + key + " must be a number");
  }
  std::vector<std::string> strings(const char* key) const {
    const toml::node* n = table_.get(key);
    if (!n) return {};
    Raw raw = to_raw(*n);
    std::optional<ParamValue> v = raw.value ? coerce(*raw.value, ParamType::string_list) : std::nullopt;
    if (!v) fail(where(*n), path_ + "." + key + " must be an array of strings");
    return std::get<std::vector<std::string>>(*v);
  }
  const toml::table& sub(const char* key) const {
    const toml::node* n = table_.get(key);
    if (!n || !n->is_table()) fail(where(), path_ + "." + key + " must be a table");
    return *n->as_table();
  }

 private:
  const toml::table& table_;
  std::string name_, path_;
};

KeySpec parse_key(const std::string& name, const toml::table& t, const std::string& file, const std::string& path) {
  Attrs a(t, file, path,
          {"type", "required", "default", "default_from", "computed_default", "min", "max", "allowed", "pattern",
           "pattern_doc", "path", "must_exist", "unique", "doc"});
  KeySpec k;
  k.name = name;
  k.line = static_cast<int>(t.source().begin.line);
  const std::string type = a.str("type");
  std::optional<ParamType> pt = parse_type(type);
  if (!pt) fail(a.where(), path + ".type '" + type + "' is not one of bool, int, float, string, int[], float[], string[]");
  k.type = *pt;
  k.required = a.boolean("required");
  k.default_from = a.str("default_from");
  k.computed_default = a.str("computed_default");
  k.min = a.number("min");
  k.max = a.number("max");
  k.allowed = a.strings("allowed");
  k.pattern = a.str("pattern");
  k.pattern_doc = a.str("pattern_doc");
  if (!k.pattern.empty()) {
    try {
      k.regex.emplace(k.pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      fail(a.where(), path + ".pattern: " + e.what());
    }
  }
  const std::string p = a.str("path");
  if (p == "file") k.path = PathKind::file;
  else if (p == "dir") k.path = PathKind::dir;
  else if (!p.empty()) fail(a.where(), path + ".path must be \"file\" or \"dir\"");
  if (k.path != PathKind::none && k.type != ParamType::string) fail(a.where(), path + ": a path must be a string");
  k.must_exist = a.boolean("must_exist");
  k.unique = a.boolean("unique");
  k.doc = a.str("doc");
  if (const toml::node* d = a.node("default")) {
    Raw raw = to_raw(*d);
    if (raw.value) k.default_value = coerce(*raw.value, k.type);
    if (!k.default_value) fail(a.where(*d), path + ".default is not a " + type);
    std::string why = check_limits(path + ".default", *k.default_value, {k.min, k.max, &k.allowed});
    if (!why.empty()) fail(a.where(*d), why);
  }
  const int defaults = (k.default_value ? 1 : 0) + !k.default_from.empty() + !k.computed_default.empty();
  if (defaults > 1 || (k.required && defaults))
    fail(a.where(), path + ": give at most one of required, default, default_from, computed_default");
  return k;
}

const std::vector<std::string> section_attrs = {"kind", "required", "min_items", "select_by", "open",
                                                "open_doc", "doc",  "keys",     "shapes"};

// `shaped`: one of [[sections.X.shapes]]; else the section's own table, whose
// keys form its one shape.
ShapeSpec parse_shape(const toml::table& t, const std::string& file, const std::string& path, bool shaped) {
  Attrs a(t, file, path,
          shaped ? std::vector<std::string>{"name", "when_present", "require_any", "doc", "keys"} : section_attrs);
  ShapeSpec s;
  s.name = a.str("name");
  if (shaped && s.name.empty()) fail(a.where(), path + ": a shape needs a name");
  s.when_present = a.str("when_present");
  s.require_any = a.strings("require_any");
  s.doc = a.str("doc");
  for (const auto& [k, v] : a.sub("keys")) {
    const std::string key(k.str());
    if (!v.is_table()) fail(a.where(v), path + ".keys." + key + " must be a table");
    s.keys.emplace(key, parse_key(key, *v.as_table(), file, path + ".keys." + key));
  }
  auto declared = [&](const std::string& key, const char* what) {
    if (!key.empty() && !s.key(key)) fail(a.where(), path + "." + what + " names '" + key + "', which is not a key here");
  };
  declared(s.when_present, "when_present");
  for (const std::string& r : s.require_any) declared(r, "require_any");
  for (const auto& [name, key] : s.keys) declared(key.default_from, ("keys." + name + ".default_from").c_str());
  return s;
}

SectionSpec parse_section(const std::string& name, const toml::table& t, const std::string& file) {
  const std::string path = "sections." + name;
  Attrs a(t, file, path, section_attrs);
  SectionSpec s;
  s.name = name;
  const std::string kind = a.str("kind");
  if (kind != "table" && kind != "array") fail(a.where(), path + ".kind must be \"table\" or \"array\"");
  s.array = kind == "array";
  s.required = a.boolean("required");
  s.min_items = static_cast<std::int64_t>(a.number("min_items").value_or(0));
  s.select_by = a.str("select_by");
  s.open = a.boolean("open");
  s.open_doc = a.str("open_doc");
  s.doc = a.str("doc");
  const toml::node* shapes = a.node("shapes");
  if (shapes && a.node("keys")) fail(a.where(), path + ": give keys or shapes, not both");
  if (shapes) {
    const toml::array* list = shapes->as_array();
    if (!list || !list->is_array_of_tables() || list->empty())
      fail(a.where(*shapes), path + ".shapes must be an array of tables ([[" + path + ".shapes]])");
    for (std::size_t i = 0; i < list->size(); ++i)
      s.shapes.push_back(parse_shape(*list->get(i)->as_table(), file, path + ".shapes[" + std::to_string(i) + "]", true));
    if (std::count_if(s.shapes.begin(), s.shapes.end(), [](const ShapeSpec& x) { return x.when_present.empty(); }) != 1)
      fail(a.where(), path + ": exactly one shape must have no when_present (the fallback)");
  } else {
    if (!t.get("keys")) fail(a.where(), path + " needs keys or shapes");
    s.shapes.push_back(parse_shape(t, file, path, false));
  }
  if (s.array == false && (s.min_items || !s.select_by.empty()))
    fail(a.where(), path + ": min_items and select_by are for arrays");
  for (const ShapeSpec& shape : s.shapes)
    if (!s.select_by.empty() && !shape.key(s.select_by))
      fail(a.where(), path + ".select_by names '" + s.select_by + "', which is not a key of every shape");
  return s;
}

}  // namespace

const KeySpec* ShapeSpec::key(const std::string& name) const {
  auto it = keys.find(name);
  return it == keys.end() ? nullptr : &it->second;
}

std::vector<std::string> ShapeSpec::key_names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : keys) out.push_back(k);
  return out;
}

std::vector<std::string> SectionSpec::key_names() const {
  std::set<std::string> all;
  for (const ShapeSpec& s : shapes)
    for (const auto& [k, v] : s.keys) all.insert(k);
  return {all.begin(), all.end()};
}

std::string SectionSpec::shape_label(const ShapeSpec& shape) const {
  return shape.name.empty() ? name : name + "(" + shape.name + ")";
}

const SectionSpec* Schema::section(const std::string& name) const {
  auto it = sections.find(name);
  return it == sections.end() ? nullptr : &it->second;
}

std::vector<std::string> Schema::section_names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : sections) out.push_back(k);
  return out;
}

std::string Schema::section_list() const {
  std::vector<std::string> names;
  for (const auto& [name, section] : sections) names.push_back(section.array ? "[[" + name + "]]" : "[" + name + "]");
  return join(names);
}

std::vector<std::string> Schema::key_ids() const {
  std::vector<std::string> out;
  for (const auto& [name, section] : sections)
    for (const ShapeSpec& shape : section.shapes)
      for (const auto& [k, v] : shape.keys) out.push_back(section.shape_label(shape) + "." + k);
  return out;
}

Schema parse_schema(const std::string& text, const std::string& name) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    fail(name + ":" + std::to_string(e.source().begin.line) + ":" + std::to_string(e.source().begin.column),
         std::string(e.description()));
  }
  Attrs a(root, name, "schema", {"version", "doc", "sections"});
  Schema s;
  s.version = static_cast<std::int64_t>(a.number("version").value_or(0));
  if (s.version < 1) fail(a.where(), "the schema needs version = 1 or later");
  s.doc = a.str("doc");
  for (const auto& [k, v] : a.sub("sections")) {
    const std::string section(k.str());
    if (!v.is_table()) fail(a.where(v), "sections." + section + " must be a table");
    s.sections.emplace(section, parse_section(section, *v.as_table(), name));
  }
  return s;
}

const Schema& schema() {
  static const Schema parsed = parse_schema(schema_text(), "recipe.schema.toml");
  return parsed;
}

}  // namespace mechlens::recipe::detail
