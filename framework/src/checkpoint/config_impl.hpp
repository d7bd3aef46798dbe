#pragma once
// Template bodies of Config (included by config.hpp).
#include "mechlens/error.hpp"

namespace mechlens::checkpoint {

template <typename T>
T Config::get(const std::string& key) const {
  if (!json_.is_object() || !json_.contains(key)) fail(where(key), "missing");
  try {
    return json_.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(where(key), "has the wrong type (" + std::string(json_.at(key).type_name()) + ")");
  }
}

template <typename T>
T Config::get_or(const std::string& key, T fallback) const {
  if (!json_.is_object() || !json_.contains(key) || json_.at(key).is_null()) return fallback;
  return get<T>(key);
}

}  // namespace mechlens::checkpoint
