#!/usr/bin/env bash
# Builds everything (installing what is missing) and runs the whole suite.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$("$here/tools/setup.sh")"
cd "$build"
ctest --output-on-failure -j "${MECHLENS_TEST_JOBS:-2}" "$@"
