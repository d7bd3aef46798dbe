#pragma once
// Tests that check against Python (h5py reading an archive, the float64 torch
// references, PIL, jinja2) skip on a developer machine that lacks a module,
// but FAIL under CI=true or MECHLENS_REQUIRE_REFERENCES=1 (tools/test.sh sets
// it): a reference check that silently did not run must not pass as one that did.
//
//   MECHLENS_REQUIRE_PYTHON("h5py", "torch");   // in a void test body or SetUp
#include <gtest/gtest.h>

#include <cstdlib>
#include <initializer_list>
#include <map>
#include <string>

namespace mechlens::testing {

inline bool references_required() {
  auto set = [](const char* name, const char* value) {
    const char* v = std::getenv(name);
    return v != nullptr && std::string(v) == value;
  };
  return set("CI", "true") || set("MECHLENS_REQUIRE_REFERENCES", "1");
}

// "" when /usr/bin/python3 imports every module, else the missing ones.
inline std::string missing_python_modules(std::initializer_list<const char*> modules) {
  static std::map<std::string, bool> known;
  std::string missing;
  for (const char* m : modules) {
    auto it = known.find(m);
    if (it == known.end()) {
      const std::string command = std::string("/usr/bin/python3 -c 'import ") + m + "' >/dev/null 2>&1";
      it = known.emplace(m, std::system(command.c_str()) == 0).first;
    }
    if (!it->second) missing += (missing.empty() ? "" : ", ") + std::string(m);
  }
  return missing;
}

}  // namespace mechlens::testing

#define MECHLENS_REQUIRE_PYTHON(...)                                                                         \
  do {                                                                                                       \
    const std::string mechlens_missing_ = ::mechlens::testing::missing_python_modules({__VA_ARGS__});        \
    if (!mechlens_missing_.empty()) {                                                                        \
      if (::mechlens::testing::references_required())                                                        \
        FAIL() << "/usr/bin/python3 lacks " << mechlens_missing_                                             \
               << " (required: CI=true or MECHLENS_REQUIRE_REFERENCES=1; tools/setup.sh installs them)";     \
      GTEST_SKIP() << "/usr/bin/python3 lacks " << mechlens_missing_ << " (tools/setup.sh installs it)";      \
    }                                                                                                        \
  } while (0)
