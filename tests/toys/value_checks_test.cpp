// tests/VALUE_CHECKS.md is the list, per plugin and per stored dataset, of the
// test that checks its values and what against. This keeps the list honest
// (tests/support/value_checks.py table): every plugin folder has a section,
// every row names a test that exists and says what the values are checked
// against. That every dataset a plugin stores is listed is checked on the
// toy recipes' archives (tests/e2e/toy_archives_xarray_test.cpp).
#include <gtest/gtest.h>

#include <string>

#include "subprocess.hpp"

namespace {

using mechlens::testing::run_command;
using mechlens::testing::shell_quote;

TEST(ValueChecksTable, EveryPluginAndRowIsValid) {
  const auto r = run_command("/usr/bin/python3 " +
                             shell_quote(std::string(MECHLENS_SOURCE_DIR) + "/tests/support/value_checks.py") + " table");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ok: "), std::string::npos) << r.output;
}

}  // namespace
