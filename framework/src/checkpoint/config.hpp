#pragma once
// config.json (and other JSON files of a checkpoint) with errors that name the
// file and the key: "ckpt/config.json: key 'text_config.hidden_size' missing".
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace mechlens::checkpoint {

class Config {
 public:
  Config() = default;
  Config(nlohmann::json json, std::string file, std::string prefix = "")
      : json_(std::move(json)), file_(std::move(file)), prefix_(std::move(prefix)) {}
  static Config load(const std::string& path);  // parse errors name the file and line

  bool has(const std::string& key) const;  // present and not null
  template <typename T>
  T get(const std::string& key) const;  // missing or wrong type → Error naming file and key
  template <typename T>
  T get_or(const std::string& key, T fallback) const;  // absent or null → fallback
  Config child(const std::string& key) const;  // nested config, e.g. "text_config"
  const nlohmann::json& json() const { return json_; }
  const std::string& file() const { return file_; }
  // "ckpt/config.json: key 'text_config.hidden_size'", for errors about a
  // value (out of range, inconsistent with another key).
  std::string where(const std::string& key) const;

 private:
  nlohmann::json json_;
  std::string file_;
  std::string prefix_;
};

}  // namespace mechlens::checkpoint

#include "checkpoint/config_impl.hpp"
