#pragma once
// Errors are values with context: whoever knows the file, key, tensor or line
// puts it in the message; the CLI prints it once, on one line, and exits non-zero.
#include <stdexcept>
#include <string>

namespace mechlens {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// "where: what" — `where` is a file, "file:line", "file: tensor 'x'", ...
[[noreturn]] inline void fail(const std::string& where, const std::string& what) {
  throw Error(where.empty() ? what : where + ": " + what);
}

}  // namespace mechlens
