// A plugin's parameters, checked against its own ParamSpec declaration with
// the same type and range rules as the recipe's keys (values.hpp).
#include "mechlens/error.hpp"
#include "recipe/recipe.hpp"
#include "recipe/suggest.hpp"
#include "recipe/values.hpp"

namespace mechlens::recipe {

ParamValues validate_params(const AnalysisEntry& entry, const std::vector<ParamSpec>& specs) {
  const std::string who = entry.label() + ": ";
  auto at = [&](const std::string& key) {
    auto it = entry.raw_sources.find(key);
    return it == entry.raw_sources.end() ? entry.source.where() : it->second.where();
  };
  std::vector<std::string> names;
  for (const ParamSpec& s : specs) names.push_back(s.name);

  std::map<std::string, ParamValue> values;
  for (const auto& [key, raw] : entry.raw) {
    const ParamSpec* spec = nullptr;
    for (const ParamSpec& s : specs)
      if (s.name == key) spec = &s;
    if (!spec)
      fail(at(key), who + "unknown parameter '" + key + "'" + detail::did_you_mean(key, names) + "; " + entry.plugin +
                        (names.empty() ? " takes no parameters" : " takes " + detail::join(names)));
    const std::string subject = "parameter '" + key + "'";
    std::optional<ParamValue> v = detail::coerce(raw, spec->type);
    if (!v) fail(at(key), who + subject + " must be " + to_string(spec->type) + ", got " + detail::describe(raw));
    std::string why = detail::check_limits(subject, *v, {spec->min, spec->max, &spec->allowed});
    if (!why.empty()) fail(at(key), who + why);
    values[key] = std::move(*v);
  }
  for (const ParamSpec& s : specs) {
    if (values.count(s.name)) continue;
    if (!s.default_value)
      fail(entry.source.where(), who + "missing required parameter '" + s.name + "' (" + to_string(s.type) +
                                     (s.doc.empty() ? "" : ": " + s.doc) + ")");
    values[s.name] = *s.default_value;
  }
  return ParamValues(std::move(values));
}

}  // namespace mechlens::recipe
