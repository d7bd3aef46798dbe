#include "checkpoint/config.hpp"

#include <fstream>
#include <sstream>

#include "mechlens/error.hpp"

namespace mechlens::checkpoint {
namespace {

// "file:line:col" of the byte nlohmann stopped at (parse_error::byte is the
// 1-based index of the last character read).
std::string position(const std::string& file, const std::string& text, std::size_t byte) {
  std::size_t end = std::min(byte > 0 ? byte - 1 : 0, text.size());
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

// nlohmann's message without its "[json.exception...] parse error at line
// L, column C: " preamble, which we replace with file:line:col.
std::string reason(const char* what) {
  std::string s = what;
  auto column = s.find("column ");
  if (column != std::string::npos) {
    auto colon = s.find(": ", column);
    if (colon != std::string::npos) return s.substr(colon + 2);
  }
  return s;
}

}  // namespace

Config Config::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    fail(position(path, text, e.byte), "invalid JSON: " + reason(e.what()));
  }
  if (!json.is_object()) fail(path, "is not a JSON object");
  return Config(std::move(json), path);
}

bool Config::has(const std::string& key) const {
  return json_.is_object() && json_.contains(key) && !json_.at(key).is_null();
}

Config Config::child(const std::string& key) const {
  if (!has(key)) throw Error(where(key) + " missing");
  const auto& value = json_.at(key);
  if (!value.is_object())
    throw Error(where(key) + " has the wrong type (" + value.type_name() + ", expected an object)");
  return Config(value, file_, prefix_ + key + ".");
}

std::string Config::where(const std::string& key) const {
  return file_ + ": key '" + prefix_ + key + "'";
}

}  // namespace mechlens::checkpoint
