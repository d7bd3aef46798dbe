#pragma once
// A plugin declares its parameters once, as a list of ParamSpec. From that one
// declaration the host validates recipes, prints `mechlens describe`, fills in
// defaults and records the resolved values in the archive's provenance.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "mechlens/error.hpp"

namespace mechlens {

enum class ParamType { boolean, integer, real, string, integer_list, real_list, string_list };
const char* to_string(ParamType type);

using ParamValue = std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>,
                                std::vector<double>, std::vector<std::string>>;
std::string to_string(const ParamValue& value);  // TOML-like rendering

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::string;
  std::optional<ParamValue> default_value;  // none = required
  std::string doc;
  std::vector<std::string> allowed;  // for strings / string lists; empty = any
  std::optional<double> min, max;    // for numbers and each list element

  ParamSpec& choices(std::vector<std::string> values) { allowed = std::move(values); return *this; }
  ParamSpec& at_least(double v) { min = v; return *this; }
  ParamSpec& at_most(double v) { max = v; return *this; }
};

// Builders so a declaration reads like art's fhicl::Atom<T>{Name, Comment, default}.
namespace param {
ParamSpec boolean(std::string name, bool def, std::string doc);
ParamSpec integer(std::string name, std::int64_t def, std::string doc);
ParamSpec real(std::string name, double def, std::string doc);
ParamSpec string(std::string name, std::string def, std::string doc);
ParamSpec integer_list(std::string name, std::vector<std::int64_t> def, std::string doc);
ParamSpec real_list(std::string name, std::vector<double> def, std::string doc);
ParamSpec string_list(std::string name, std::vector<std::string> def, std::string doc);
ParamSpec required(std::string name, ParamType type, std::string doc);
}  // namespace param

// Validated values: every declared parameter is present (given or defaulted).
class ParamValues {
 public:
  ParamValues() = default;
  explicit ParamValues(std::map<std::string, ParamValue> values) : values_(std::move(values)) {}

  template <typename T>
  const T& get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) fail("parameters", "no parameter '" + name + "'");
    const T* v = std::get_if<T>(&it->second);
    if (!v) fail("parameters", "parameter '" + name + "' has another type");
    return *v;
  }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  const std::map<std::string, ParamValue>& all() const { return values_; }

 private:
  std::map<std::string, ParamValue> values_;
};

}  // namespace mechlens
