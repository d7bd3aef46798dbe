#pragma once
// run_recipe in-process for the reliability suites: a silent logger that
// keeps warnings, a run with overrides / --resume, and the archive read back
// with h5py alone.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "host/run.hpp"
#include "host_test_support.hpp"
#include "recipe/recipe.hpp"
#include "subprocess.hpp"

namespace mechlens::testing {

struct SilentLog : Logger, Progress {
  std::vector<std::string> warnings;
  void info(const std::string&) override {}
  void warn(const std::string& m) override { warnings.push_back(m); }
  void update(const std::string&, std::int64_t, std::int64_t) override {}
};

inline host::RunResult run_in_process(const std::string& recipe, const std::string& out, SilentLog& log,
                                      const std::vector<std::string>& overrides = {}, bool resume = false) {
  host::RunOptions options;
  options.out = out;
  options.resume = resume;
  options.logger = &log;
  options.progress = &log;
  options.plugin_dirs = {test_plugin_dir()};
  return host::run_recipe(recipe::load(recipe, overrides), options);
}

// The message of the mechlens::Error `f` throws ("" and a test failure if none).
template <typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no mechlens::Error";
  return "";
}

inline nlohmann::json read_archive_json(const std::string& path) {
  const auto r = run_command("/usr/bin/python3 " +
                             shell_quote(std::string(MECHLENS_SOURCE_DIR) + "/tests/host/read_archive.py") + " " +
                             shell_quote(path));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.exit_code == 0 ? nlohmann::json::parse(r.output) : nlohmann::json::object();
}

}  // namespace mechlens::testing
