#pragma once
// Reads one group of an archive with h5py alone (tests/e2e/dump_group.py):
// {"relative/path": {"shape", "dims", "values"}, "@attrs": {...}}, values
// flattened in C order, NaN as null.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "subprocess.hpp"

namespace mechlens::testing {

inline nlohmann::json dump_group(const std::filesystem::path& archive, const std::string& group) {
  const auto script = std::string(MECHLENS_SOURCE_DIR) + "/tests/e2e/dump_group.py";
  const auto r = run_command("/usr/bin/python3 " + shell_quote(script) + " " + shell_quote(archive.string()) + " " +
                             shell_quote(group));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.exit_code == 0 ? nlohmann::json::parse(r.output) : nlohmann::json::object();
}

}  // namespace mechlens::testing
