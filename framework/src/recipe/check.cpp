#include "recipe/check.hpp"

#include <algorithm>
#include <climits>
#include <filesystem>

#include "mechlens/error.hpp"
#include "recipe/env_expand.hpp"
#include "recipe/suggest.hpp"
#include "recipe/values.hpp"

namespace mechlens::recipe::detail {

namespace fs = std::filesystem;

namespace {

Source source_of(const std::string& file, const toml::node& node) {
  return {file, static_cast<int>(node.source().begin.line)};
}

// A node's own line; a table made implicitly (dotted keys) or an array of
// tables may have none, then the first line inside it. 0: made by --set.
int first_line(const toml::node& node) {
  if (int line = static_cast<int>(node.source().begin.line)) return line;
  int best = 0;
  auto consider = [&](const toml::node& child) {
    const int l = first_line(child);
    if (l && (!best || l < best)) best = l;
  };
  if (const auto* t = node.as_table())
    for (const auto& [k, v] : *t) consider(v);
  if (const auto* a = node.as_array())
    for (const toml::node& v : *a) consider(v);
  return best;
}

Source table_source(const std::string& file, const toml::node& t) { return {file, first_line(t)}; }

std::string resolve(const std::string& value, const std::string& base_dir) {
  fs::path p(value);
  if (p.is_relative()) p = fs::path(base_dir) / p;
  p = p.lexically_normal();
  if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();  // "flowers/" -> "flowers"
  return p.string();
}

std::string unknown_key_message(const std::string& key, const std::string& entry_path, const SectionSpec& section,
                                const ShapeSpec& shape) {
  std::string msg = "unknown key " + entry_path + "." + key + did_you_mean(key, shape.key_names());
  for (const ShapeSpec& other : section.shapes)
    if (&other != &shape && other.key(key))
      msg += "; '" + key + "' belongs to " + other.name + " entries" +
             (other.when_present.empty() ? "" : " (those with " + other.when_present + ")");
  msg += "; known keys: " + join(shape.key_names());
  return msg;
}

Item check_key(const std::string& key_path, const KeySpec& spec, const toml::node& node, const std::string& file,
               const std::string& base_dir) {
  const Source src = source_of(file, node);
  const std::string at = where(file, node);
  Raw raw = to_raw(node);
  std::optional<ParamValue> v = raw.value ? coerce(*raw.value, spec.type) : std::nullopt;
  if (!v)
    fail(at, key_path + " must be " + to_string(spec.type) + ", got " + (raw.value ? describe(*raw.value) : raw.what));
  std::string why = check_limits(key_path, *v, {spec.min, spec.max, &spec.allowed});
  if (!why.empty()) fail(at, why);
  if (spec.regex) {
    auto bad = [&](const std::string& s, const std::string& subject) {
      if (!std::regex_match(s, *spec.regex))
        fail(at, subject + " = \"" + s + "\" is not " +
                     (spec.pattern_doc.empty() ? "of the form " + spec.pattern : spec.pattern_doc));
    };
    if (const auto* s = std::get_if<std::string>(&*v)) bad(*s, key_path);
    if (const auto* l = std::get_if<std::vector<std::string>>(&*v))
      for (std::size_t i = 0; i < l->size(); ++i) bad((*l)[i], key_path + "[" + std::to_string(i) + "]");
  }
  if (spec.path != PathKind::none) {
    std::string& s = std::get<std::string>(*v);
    if (s.empty()) fail(at, key_path + " is an empty path");
    s = resolve(s, base_dir);
    if (spec.must_exist) {
      std::error_code ec;
      const bool ok = spec.path == PathKind::dir ? fs::is_directory(s, ec) : fs::is_regular_file(s, ec);
      if (!ok)
        fail(at, key_path + ": " +
                     (fs::exists(s, ec) ? s + (spec.path == PathKind::dir ? " is not a folder" : " is not a file")
                                        : (spec.path == PathKind::dir ? "folder " : "file ") + s + " does not exist"));
    }
  }
  return {std::move(*v), src, true};
}

Entry check_entry(const toml::table& t, const std::string& path, std::size_t index, const SectionSpec& section,
                  const std::string& file, const std::string& base_dir) {
  Entry e;
  e.path = path;
  e.index = index;
  e.source = table_source(file, t);
  e.section = &section;
  e.shape = &section.shape_for([&](const std::string& k) { return t.get(k) != nullptr; });
  for (const auto& [k, node] : t) {
    const std::string key(k.str());
    const KeySpec* spec = e.shape->key(key);
    if (spec) {
      e.values[key] = check_key(path + "." + key, *spec, node, file, base_dir);
    } else if (section.open) {
      Raw raw = to_raw(node);
      if (!raw.value)
        fail(where(file, node), path + "." + key + " is " + raw.what +
                                    "; parameters are bool, int, float, string or lists of them");
      e.open[key] = {*raw.value, source_of(file, node), true};
    } else {
      fail(where(file, node), unknown_key_message(key, path, section, *e.shape));
    }
  }
  const std::string at = e.source.where();
  for (const auto& [key, spec] : e.shape->keys)
    if (spec.required && !e.values.count(key))
      fail(at, "missing required key " + path + "." + key + (spec.doc.empty() ? "" : ": " + spec.doc));
  if (!e.shape->require_any.empty()) {
    bool any = false;
    for (const std::string& k : e.shape->require_any) any = any || e.values.count(k);
    if (!any) fail(at, path + " needs at least one of " + join(e.shape->require_any));
  }
  for (const auto& [key, spec] : e.shape->keys) {
    if (e.values.count(key)) continue;
    if (spec.default_value) e.values[key] = {*spec.default_value, e.source, false};
  }
  for (const auto& [key, spec] : e.shape->keys) {  // after plain defaults: default_from may name a defaulted key
    if (e.values.count(key) || spec.default_from.empty()) continue;
    auto from = e.values.find(spec.default_from);
    if (from != e.values.end()) e.values[key] = {from->second.value, e.source, false};
  }
  return e;
}

void check_unique(const std::vector<Entry>& entries) {
  for (std::size_t i = 0; i < entries.size(); ++i)
    for (const auto& [key, item] : entries[i].values) {
      const KeySpec* spec = entries[i].shape->key(key);
      if (!spec || !spec->unique) continue;
      for (std::size_t j = 0; j < i; ++j) {
        auto other = entries[j].values.find(key);
        if (other != entries[j].values.end() && other->second.value == item.value)
          fail(item.source.where(), entries[i].path + "." + key + " = " + to_string(item.value) +
                                        " is already used by " + entries[j].path + (item.given ? "" : " (it is the default here)"));
      }
    }
}

}  // namespace

Checked check(const toml::table& root, const Schema& schema, const std::string& file, const std::string& base_dir) {
  for (const auto& [k, node] : root) {
    const std::string key(k.str());
    if (!schema.section(key))
      fail(where(file, node), "unknown section '" + key + "'" + did_you_mean(key, schema.section_names()) +
                                  "; a recipe has " + schema.section_list());
  }
  for (const auto& [name, section] : schema.sections)
    if (section.required && !root.get(name))
      fail(file, "missing section " + (section.array ? "[[" + name + "]]" : "[" + name + "]") +
                     (section.doc.empty() ? "" : ": " + section.doc));
  // In the order of the file, so the first error reported is the first one written.
  std::vector<std::pair<int, std::string>> present;
  for (const auto& [k, node] : root) present.emplace_back(first_line(node), std::string(k.str()));
  std::sort(present.begin(), present.end(), [](const auto& a, const auto& b) {
    return (a.first ? a.first : INT_MAX) < (b.first ? b.first : INT_MAX);  // --set-made sections last
  });
  Checked out;
  for (const auto& [line, name] : present) {
    const SectionSpec& section = *schema.section(name);
    const toml::node* node = root.get(name);
    const std::string at = Source{file, line}.where();
    std::vector<Entry>& entries = out[name];
    if (!section.array) {
      if (!node->is_table()) fail(at, name + " must be a table: write [" + name + "]");
      entries.push_back(check_entry(*node->as_table(), name, 0, section, file, base_dir));
      continue;
    }
    const toml::array* list = node->as_array();
    if (!list || (!list->empty() && !list->is_array_of_tables()))
      fail(at, name + " must be an array of tables: write [[" + name + "]] for each entry");
    if (static_cast<std::int64_t>(list->size()) < section.min_items)
      fail(at, "[[" + name + "]] needs at least " + std::to_string(section.min_items) + " entr" +
                                   (section.min_items == 1 ? "y" : "ies"));
    for (std::size_t i = 0; i < list->size(); ++i)
      entries.push_back(check_entry(*list->get(i)->as_table(), name + "[" + std::to_string(i) + "]", i, section,
                                    file, base_dir));
    check_unique(entries);
  }
  return out;
}

}  // namespace mechlens::recipe::detail
