#!/usr/bin/env bash
# Builds everything (installing what is missing) and runs the whole suite.
# Reference checks (h5py, torch, PIL, jinja2 through /usr/bin/python3) fail
# instead of skipping when their module is missing (tests/support/
# python_requirement.hpp); the last line counts the tests that skipped anyway.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$("$here/tools/setup.sh")"
cd "$build"
export MECHLENS_REQUIRE_REFERENCES="${MECHLENS_REQUIRE_REFERENCES:-1}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
ctest --output-on-failure -j "${MECHLENS_TEST_JOBS:-2}" "$@" | tee "$log" || status=$?
# ctest lists each GTEST_SKIP'd test as "<n> - <name> (Skipped)".
skipped="$(grep -c '(Skipped)$' "$log" || true)"
echo "mechlens: ${skipped} tests skipped"
exit "$status"
