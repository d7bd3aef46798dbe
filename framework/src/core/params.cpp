#include "mechlens/params.hpp"

#include <sstream>

#include "mechlens/input.hpp"

namespace mechlens {

const char* to_string(ParamType type) {
  switch (type) {
    case ParamType::boolean: return "bool";
    case ParamType::integer: return "int";
    case ParamType::real: return "float";
    case ParamType::string: return "string";
    case ParamType::integer_list: return "int[]";
    case ParamType::real_list: return "float[]";
    case ParamType::string_list: return "string[]";
  }
  return "?";
}

const char* to_string(Modality m) {
  switch (m) {
    case Modality::text: return "text";
    case Modality::image: return "image";
    case Modality::special: return "special";
  }
  return "?";
}

namespace {
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

template <typename T, typename F>
std::string list(const std::vector<T>& values, F render) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + render(values[i]);
  return out + "]";
}

std::string real(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}
}  // namespace

std::string to_string(const ParamValue& value) {
  struct Render {
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(std::int64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const { return real(v); }
    std::string operator()(const std::string& v) const { return quoted(v); }
    std::string operator()(const std::vector<std::int64_t>& v) const {
      return list(v, [](std::int64_t x) { return std::to_string(x); });
    }
    std::string operator()(const std::vector<double>& v) const { return list(v, real); }
    std::string operator()(const std::vector<std::string>& v) const { return list(v, quoted); }
  };
  return std::visit(Render{}, value);
}

namespace param {
namespace {
ParamSpec make(std::string name, ParamType type, std::optional<ParamValue> def, std::string doc) {
  ParamSpec spec;
  spec.name = std::move(name);
  spec.type = type;
  spec.default_value = std::move(def);
  spec.doc = std::move(doc);
  return spec;
}
}  // namespace
ParamSpec boolean(std::string name, bool def, std::string doc) {
  return make(std::move(name), ParamType::boolean, ParamValue(def), std::move(doc));
}
ParamSpec integer(std::string name, std::int64_t def, std::string doc) {
  return make(std::move(name), ParamType::integer, ParamValue(def), std::move(doc));
}
ParamSpec real(std::string name, double def, std::string doc) {
  return make(std::move(name), ParamType::real, ParamValue(def), std::move(doc));
}
ParamSpec string(std::string name, std::string def, std::string doc) {
  return make(std::move(name), ParamType::string, ParamValue(std::move(def)), std::move(doc));
}
ParamSpec integer_list(std::string name, std::vector<std::int64_t> def, std::string doc) {
  return make(std::move(name), ParamType::integer_list, ParamValue(std::move(def)), std::move(doc));
}
ParamSpec real_list(std::string name, std::vector<double> def, std::string doc) {
  return make(std::move(name), ParamType::real_list, ParamValue(std::move(def)), std::move(doc));
}
ParamSpec string_list(std::string name, std::vector<std::string> def, std::string doc) {
  return make(std::move(name), ParamType::string_list, ParamValue(std::move(def)), std::move(doc));
}
ParamSpec required(std::string name, ParamType type, std::string doc) {
  return make(std::move(name), type, std::nullopt, std::move(doc));
}
}  // namespace param

}  // namespace mechlens
