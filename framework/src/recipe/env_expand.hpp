#pragma once
// `${VAR}` in recipe strings (DESIGN.md: recipes name checkpoints through the
// environment, e.g. ${MECHLENS_MODELS}/bert-base-uncased).
//   ${NAME}          the variable's value; unset is an error
//   ${NAME:-text}    the value, or `text` when NAME is unset or empty (as in sh)
//   $${              a literal "${"
// Any other `$` is kept as it is.
#include <functional>
#include <optional>
#include <string>

#include <toml++/toml.h>

namespace mechlens::recipe::detail {

using Lookup = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> from_environment(const std::string& name);

// `where` ("file:line") and `key` ("model.path") name the value in errors.
std::string expand(const std::string& text, const std::string& where, const std::string& key,
                   const Lookup& lookup = from_environment);

// Expands every string in `table`, in place, recursing into arrays and tables;
// `file` and each value's line name it in errors.
void expand_all(toml::table& table, const std::string& file, const Lookup& lookup = from_environment);

// "file:line" for a node, "file:--set" for a node a --set override made
// (those carry no source position).
std::string where(const std::string& file, const toml::node& node);

}  // namespace mechlens::recipe::detail
