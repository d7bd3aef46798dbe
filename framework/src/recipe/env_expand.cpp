#include "recipe/env_expand.hpp"

#include <cctype>
#include <cstdlib>

#include "mechlens/error.hpp"

namespace mechlens::recipe::detail {

std::optional<std::string> from_environment(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

std::string where(const std::string& file, const toml::node& node) {
  const auto line = node.source().begin.line;
  return line ? file + ":" + std::to_string(line) : file + ":--set";
}

std::string expand(const std::string& text, const std::string& at, const std::string& key, const Lookup& lookup) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string::npos)
      fail(at, key + ": unclosed '${' in \"" + text + "\" (write $${ for a literal ${)");
    const std::string inner = text.substr(i + 2, close - i - 2);
    const std::size_t dash = inner.find(":-");
    const std::string name = inner.substr(0, dash);
    bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char c : name) valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!valid) fail(at, key + ": '${" + inner + "}' is not a variable name (letters, digits, '_')");
    std::optional<std::string> value = lookup(name);
    if (dash != std::string::npos) {
      if (!value || value->empty()) value = inner.substr(dash + 2);
    } else if (!value) {
      fail(at, key + ": environment variable " + name + " is not set (in \"" + text +
                   "\"; set it, or write ${" + name + ":-default})");
    }
    out += *value;
    i = close + 1;
  }
  return out;
}

namespace {
void expand_node(toml::node& node, const std::string& file, const std::string& key, const Lookup& lookup) {
  if (auto* s = node.as_string()) {
    s->get() = expand(s->get(), where(file, node), key, lookup);
  } else if (auto* a = node.as_array()) {
    for (std::size_t i = 0; i < a->size(); ++i)
      expand_node(*a->get(i), file, key + "[" + std::to_string(i) + "]", lookup);
  } else if (auto* t = node.as_table()) {
    for (auto&& [k, v] : *t) expand_node(v, file, key.empty() ? std::string(k.str()) : key + "." + std::string(k.str()), lookup);
  }
}
}  // namespace

void expand_all(toml::table& table, const std::string& file, const Lookup& lookup) {
  expand_node(table, file, "", lookup);
}

}  // namespace mechlens::recipe::detail
