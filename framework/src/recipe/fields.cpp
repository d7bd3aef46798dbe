#include "recipe/fields.hpp"

#include <mutex>

#include "mechlens/error.hpp"

namespace mechlens::recipe::detail {

namespace {
std::mutex read_mutex;
std::set<std::string>& read_ids() {
  static std::set<std::string> ids;
  return ids;
}
template <typename T>
const T& as(const Item& item, const Entry& entry, const std::string& key, const char* type) {
  const T* v = std::get_if<T>(&item.value);
  if (!v) fail("recipe loader", "reads " + entry.path + "." + key + " as " + type + ", the schema declares another type");
  return *v;
}
}  // namespace

std::set<std::string> keys_read() {
  std::lock_guard<std::mutex> lock(read_mutex);
  return read_ids();
}

const Item* Fields::find(const std::string& key) const {
  const std::string id = entry_.section->shape_label(*entry_.shape) + "." + key;
  if (!entry_.shape->key(key))
    fail("recipe loader", "reads " + id + ", which schemas/recipe.schema.toml does not declare");
  {
    std::lock_guard<std::mutex> lock(read_mutex);
    read_ids().insert(id);
  }
  auto it = entry_.values.find(key);
  return it == entry_.values.end() ? nullptr : &it->second;
}

bool Fields::has(const std::string& key) const { return find(key) != nullptr; }

std::string Fields::str(const std::string& key) const {
  const Item* item = find(key);
  return item ? as<std::string>(*item, entry_, key, "string") : std::string();
}

std::int64_t Fields::integer(const std::string& key) const {
  const Item* item = find(key);
  if (!item) fail(entry_.source.where(), entry_.path + "." + key + " has no value and no default");
  return as<std::int64_t>(*item, entry_, key, "int");
}

std::vector<std::string> Fields::strings(const std::string& key) const {
  const Item* item = find(key);
  return item ? as<std::vector<std::string>>(*item, entry_, key, "string[]") : std::vector<std::string>{};
}

std::vector<double> Fields::reals(const std::string& key) const {
  const Item* item = find(key);
  return item ? as<std::vector<double>>(*item, entry_, key, "float[]") : std::vector<double>{};
}

Source Fields::source(const std::string& key) const {
  const Item* item = find(key);
  return item && item->given ? item->source : entry_.source;
}

}  // namespace mechlens::recipe::detail
