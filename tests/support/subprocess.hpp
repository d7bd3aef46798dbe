#pragma once
// Runs a shell command for end-to-end tests, capturing stdout+stderr and the exit code.
#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace mechlens::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe)) result.output += buffer.data();
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

inline std::string mechlens_binary() { return std::string(MECHLENS_BINARY_DIR) + "/bin/mechlens"; }

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline bool have_python_module(const std::string& module) {
  return run_command("/usr/bin/python3 -c 'import " + module + "'").exit_code == 0;
}

}  // namespace mechlens::testing
