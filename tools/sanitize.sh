#!/usr/bin/env bash
# Builds mechlens with AddressSanitizer and UndefinedBehaviorSanitizer in a
# build folder of its own (default build-sanitize/, never build/) and runs
# the whole suite there. A second full build: about as long as a cold build
# (30+ minutes on 2 cores); it is not part of CI.
#
#   tools/sanitize.sh                 build + every test
#   tools/sanitize.sh -R host         build + the tests ctest -R selects
#   MECHLENS_SANITIZE_BUILD_DIR=...   another build folder
#   MECHLENS_JOBS=N                   build jobs (default 2); runs under nice -n 19
#   MECHLENS_SANITIZE_TARGETS="checkpoint_test recipe_test"
#                                     build only these targets (a part of the
#                                     suite when the whole does not fit; pair
#                                     with a matching -R)
#
# Leak checking is off: libtorch and the BLAS keep allocations for the life
# of the process by design, which LeakSanitizer would report on every test.
# UBSan stops at the first finding (halt_on_error), with a stack trace.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${MECHLENS_SANITIZE_BUILD_DIR:-$here/build-sanitize}"
# -Wall -Wextra as well: the warnings land in this build's log (grep 'warning:')
# without changing the flags of the everyday build.
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -Wall -Wextra"
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_MODULE_LINKER_FLAGS="-fsanitize=address,undefined" >&2
fi
targets=()
for t in ${MECHLENS_SANITIZE_TARGETS:-}; do targets+=(--target "$t"); done
nice -n 19 cmake --build "$build" -j "${MECHLENS_JOBS:-2}" "${targets[@]}" >&2

cd "$build"
# Plugins are dlopen'ed into the sanitized executables; the ASan runtime is
# linked into those, so nothing needs preloading. Python references run
# unsanitized (they are separate processes).
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
nice -n 19 ctest --output-on-failure -j "${MECHLENS_TEST_JOBS:-2}" "$@"
