#include "checkpoint/load_warnings.hpp"

#include <mutex>

namespace mechlens::checkpoint {

namespace {
std::mutex mutex;
std::vector<std::string>& pending() {
  static std::vector<std::string> warnings;
  return warnings;
}
}  // namespace

void add_load_warning(std::string message) {
  const std::lock_guard<std::mutex> lock(mutex);
  pending().push_back(std::move(message));
}

std::vector<std::string> take_load_warnings() {
  const std::lock_guard<std::mutex> lock(mutex);
  std::vector<std::string> out;
  out.swap(pending());
  return out;
}

}  // namespace mechlens::checkpoint
