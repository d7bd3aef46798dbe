#include "recipe/values.hpp"

#include <cmath>
#include <sstream>

namespace mechlens::recipe::detail {

namespace {

const char* node_what(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::string: return "a string";
    default: return "nothing";
  }
}

Raw array_to_raw(const toml::array& array) {
  if (array.empty()) return {ParamValue(std::vector<std::string>{}), ""};
  bool all_int = true, all_number = true, all_string = true;
  for (const toml::node& e : array) {
    all_int = all_int && e.is_integer();
    all_number = all_number && (e.is_integer() || e.is_floating_point());
    all_string = all_string && e.is_string();
  }
  if (all_int) {
    std::vector<std::int64_t> v;
    for (const toml::node& e : array) v.push_back(e.as_integer()->get());
    return {ParamValue(std::move(v)), ""};
  }
  if (all_number) {
    std::vector<double> v;
    for (const toml::node& e : array)
      v.push_back(e.is_integer() ? static_cast<double>(e.as_integer()->get()) : e.as_floating_point()->get());
    return {ParamValue(std::move(v)), ""};
  }
  if (all_string) {
    std::vector<std::string> v;
    for (const toml::node& e : array) v.push_back(e.as_string()->get());
    return {ParamValue(std::move(v)), ""};
  }
  const toml::node& first = *array.get(0);
  bool same = true;
  for (const toml::node& e : array) same = same && e.type() == first.type();
  if (!same) return {std::nullopt, "an array of mixed types"};
  std::string what = node_what(first);                   // "a date", "an array"
  return {std::nullopt, "an array of " + what.substr(what.find(' ') + 1) + "s"};
}

std::string number(double v) {
  std::ostringstream os;
  os.precision(15);
  os << v;
  return os.str();
}

template <typename T>
std::optional<double> as_double(const T&) { return std::nullopt; }
std::optional<double> as_double(std::int64_t v) { return static_cast<double>(v); }
std::optional<double> as_double(double v) { return v; }

std::string check_scalar(const std::string& subject, const ParamValue& v, const Limits& limits) {
  std::optional<double> x = std::visit([](const auto& a) { return as_double(a); }, v);
  if (x) {
    if (std::isnan(*x) && (limits.min || limits.max)) return subject + " = nan is not a number";
    if (limits.min && *x < *limits.min)
      return subject + " = " + to_string(v) + " is below the minimum " + number(*limits.min);
    if (limits.max && *x > *limits.max)
      return subject + " = " + to_string(v) + " is above the maximum " + number(*limits.max);
  }
  if (const auto* s = std::get_if<std::string>(&v); s && limits.allowed && !limits.allowed->empty()) {
    for (const std::string& a : *limits.allowed)
      if (a == *s) return "";
    return subject + " = " + to_string(v) + " is not one of " + join(*limits.allowed);
  }
  return "";
}

}  // namespace

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

Raw to_raw(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::boolean: return {ParamValue(node.as_boolean()->get()), ""};
    case toml::node_type::integer: return {ParamValue(node.as_integer()->get()), ""};
    case toml::node_type::floating_point: return {ParamValue(node.as_floating_point()->get()), ""};
    case toml::node_type::string: return {ParamValue(node.as_string()->get()), ""};
    case toml::node_type::array: return array_to_raw(*node.as_array());
    default: return {std::nullopt, node_what(node)};
  }
}

std::string describe(const ParamValue& value) {
  struct Type {
    const char* operator()(bool) const { return "bool"; }
    const char* operator()(std::int64_t) const { return "int"; }
    const char* operator()(double) const { return "float"; }
    const char* operator()(const std::string&) const { return "string"; }
    const char* operator()(const std::vector<std::int64_t>&) const { return "int[]"; }
    const char* operator()(const std::vector<double>&) const { return "float[]"; }
    const char* operator()(const std::vector<std::string>& v) const { return v.empty() ? "[]" : "string[]"; }
  };
  const char* type = std::visit(Type{}, value);
  return std::string(type) == "[]" ? "an empty list" : std::string(type) + " " + to_string(value);
}

std::optional<ParamType> parse_type(const std::string& name) {
  for (ParamType t : {ParamType::boolean, ParamType::integer, ParamType::real, ParamType::string,
                      ParamType::integer_list, ParamType::real_list, ParamType::string_list})
    if (name == to_string(t)) return t;
  return std::nullopt;
}

std::optional<ParamValue> coerce(const ParamValue& raw, ParamType want) {
  const auto* strings = std::get_if<std::vector<std::string>>(&raw);
  const bool empty_list = strings && strings->empty();
  switch (want) {
    case ParamType::boolean:
      if (std::holds_alternative<bool>(raw)) return raw;
      break;
    case ParamType::integer:
      if (std::holds_alternative<std::int64_t>(raw)) return raw;
      break;
    case ParamType::real:
      if (std::holds_alternative<double>(raw)) return raw;
      if (const auto* i = std::get_if<std::int64_t>(&raw)) return ParamValue(static_cast<double>(*i));
      break;
    case ParamType::string:
      if (std::holds_alternative<std::string>(raw)) return raw;
      break;
    case ParamType::integer_list:
      if (empty_list) return ParamValue(std::vector<std::int64_t>{});
      if (std::holds_alternative<std::vector<std::int64_t>>(raw)) return raw;
      break;
    case ParamType::real_list:
      if (empty_list) return ParamValue(std::vector<double>{});
      if (std::holds_alternative<std::vector<double>>(raw)) return raw;
      if (const auto* i = std::get_if<std::vector<std::int64_t>>(&raw))
        return ParamValue(std::vector<double>(i->begin(), i->end()));
      break;
    case ParamType::string_list:
      if (strings) return raw;
      break;
  }
  return std::nullopt;
}

std::string check_limits(const std::string& subject, const ParamValue& value, const Limits& limits) {
  auto each = [&](const auto& list) -> std::string {
    for (std::size_t i = 0; i < list.size(); ++i) {
      std::string why = check_scalar(subject + "[" + std::to_string(i) + "]", ParamValue(list[i]), limits);
      if (!why.empty()) return why;
    }
    return "";
  };
  if (const auto* v = std::get_if<std::vector<std::int64_t>>(&value)) return each(*v);
  if (const auto* v = std::get_if<std::vector<double>>(&value)) return each(*v);
  if (const auto* v = std::get_if<std::vector<std::string>>(&value)) return each(*v);
  return check_scalar(subject, value, limits);
}

}  // namespace mechlens::recipe::detail
