#pragma once
// TOML values as mechlens ParamValues, and the checks shared by recipe keys
// (declared in schemas/recipe.schema.toml) and plugin parameters (declared as
// ParamSpec): one set of type, range and `allowed` rules for both.
#include <optional>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "mechlens/params.hpp"

namespace mechlens::recipe::detail {

// A TOML value as written. Empty arrays become an empty string list, which
// every list type accepts (coerce). No value: `what` says what the node is
// ("a table", "a date", "an array of booleans", ...).
struct Raw {
  std::optional<ParamValue> value;
  std::string what;
};
Raw to_raw(const toml::node& node);

// "int 3", "string \"x\"", "float[] [0.5, 1]" — for "must be X, got Y".
std::string describe(const ParamValue& value);

// `type` names as the schema and `mechlens describe` write them (to_string(ParamType)).
std::optional<ParamType> parse_type(const std::string& name);

// The value as `want`, or nothing when the type is wrong. An int is accepted
// where a float is expected (also element-wise in lists).
std::optional<ParamValue> coerce(const ParamValue& raw, ParamType want);

struct Limits {
  std::optional<double> min, max;
  const std::vector<std::string>* allowed = nullptr;
};
// "" when `value` is within limits, else the reason, starting with `subject`
// (e.g. "model.threads = -1 is below the minimum 0"; list elements are named
// "subject[i]").
std::string check_limits(const std::string& subject, const ParamValue& value, const Limits& limits);

std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

}  // namespace mechlens::recipe::detail
