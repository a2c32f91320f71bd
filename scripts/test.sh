#!/usr/bin/env bash
# The README's second command: install, build and run the whole test suite.
# With SANITIZE=1 it builds in build-asan with AddressSanitizer and
# UndefinedBehaviorSanitizer and runs the suite there.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SANITIZE:-0}" = 1 ]; then
  export BUILD_DIR=build-asan CMAKE_ARGS="-DTM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
CMAKE_ARGS="-DTM_WERROR=ON ${CMAKE_ARGS:-}" scripts/setup.sh
# the browser test's chromium and playwright-core (BROWSER_TEST=0: skip them;
# then test_web is skipped too, outside CI)
[ "${BROWSER_TEST:-1}" = 0 ] || scripts/browser-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cd "$BUILD_DIR"
ctest --output-on-failure -j"$(nproc)"
