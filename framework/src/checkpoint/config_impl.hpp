#pragma once
// Template bodies of Config (included by config.hpp).
#include <cstdint>
#include <limits>
#include <type_traits>

#include "mechlens/error.hpp"

namespace mechlens::checkpoint {

template <typename T>
T Config::get(const std::string& key) const {
  if (!json_.is_object() || !json_.contains(key)) throw Error(where(key) + " missing");
  const nlohmann::json& value = json_.at(key);
  // nlohmann converts any number to any arithmetic type; a config that says
  // 12.5 heads or -1 layers where an integer is meant is an error, not 12.
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (!value.is_number_integer())
      throw Error(where(key) + " has the wrong type (" + value.type_name() + ", expected an integer)");
    if constexpr (std::is_unsigned_v<T>)
      if (!value.is_number_unsigned())
        throw Error(where(key) + " must not be negative (" + value.dump() + ")");
    const bool fits = value.is_number_unsigned()
                          ? value.get<std::uint64_t>() <= std::uint64_t(std::numeric_limits<T>::max())
                          : value.get<std::int64_t>() >= std::int64_t(std::numeric_limits<T>::min());
    if (!fits) throw Error(where(key) + " is out of range (" + value.dump() + ")");
  }
  try {
    return value.get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(where(key) + " has the wrong type (" + value.type_name() + ")");
  }
}

template <typename T>
T Config::get_or(const std::string& key, T fallback) const {
  if (!json_.is_object() || !json_.contains(key) || json_.at(key).is_null()) return fallback;
  return get<T>(key);
}

}  // namespace mechlens::checkpoint
