#include "mechlens/positions.hpp"

#include <algorithm>
#include <cstdlib>

#include "mechlens/error.hpp"

namespace mechlens {

namespace {

bool parse_index(const std::string& spec, std::int64_t& out) {
  if (spec.empty()) return false;
  char* end = nullptr;
  const long long v = std::strtoll(spec.c_str(), &end, 10);
  if (*end != '\0') return false;
  out = v;
  return true;
}

bool is_named(const std::string& spec) {
  const auto& names = position_names();
  return std::find(names.begin(), names.end(), spec) != names.end();
}

std::string known() {
  std::string list;
  for (const auto& n : position_names()) list += n + ", ";
  return list + "or an index (negative from the end)";
}

}  // namespace

const std::vector<std::string>& position_names() {
  static const std::vector<std::string> names = {"answer", "last", "all", "image", "text", "special"};
  return names;
}

void check_position_specs(const std::vector<std::string>& specs, const std::string& where) {
  std::int64_t index = 0;
  for (const auto& s : specs)
    if (!is_named(s) && !parse_index(s, index)) fail(where, "'" + s + "' is not a position: use " + known());
}

std::vector<std::int64_t> select_positions(const EncodedInput& input, const std::vector<std::string>& specs,
                                           const std::string& where) {
  check_position_specs(specs, where);
  const auto length = static_cast<std::int64_t>(input.ids.size());
  const std::string who = where + ": input '" + input.spec.id + "'";
  if (length == 0) fail(who, "has no tokens");
  std::vector<std::int64_t> out;
  auto with_modality = [&](Modality m) {
    for (std::int64_t p = 0; p < length; ++p)
      if (input.annotations.at(static_cast<std::size_t>(p)).modality == m) out.push_back(p);
  };
  for (const auto& s : specs) {
    std::int64_t index = 0;
    if (s == "answer") {
      if (input.answer_position < 0 || input.answer_position >= length) fail(who, "has no answer position");
      out.push_back(input.answer_position);
    } else if (s == "last") {
      out.push_back(length - 1);
    } else if (s == "all") {
      for (std::int64_t p = 0; p < length; ++p) out.push_back(p);
    } else if (s == "image") {
      with_modality(Modality::image);
    } else if (s == "text") {
      with_modality(Modality::text);
    } else if (s == "special") {
      with_modality(Modality::special);
    } else if (parse_index(s, index)) {
      const std::int64_t p = index < 0 ? length + index : index;
      if (p < 0 || p >= length)
        fail(who, "position " + s + " outside its " + std::to_string(length) + " tokens");
      out.push_back(p);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace mechlens
