#!/usr/bin/env bash
# The README's second command: install, build and run the whole test suite.
# With SANITIZE=1 it builds in build-asan with AddressSanitizer and
# UndefinedBehaviorSanitizer and runs the suite there.  With TSAN=1 it builds
# in build-tsan with ThreadSanitizer and runs the server tests (ctest -L
# server) there, less the ones that measure memory or time a kill (TSan
# multiplies both); every race report is written to build-tsan/tsan-reports
# and fails the run, whichever process (daemon or client) made it.
set -euo pipefail
cd "$(dirname "$0")/.."
CTEST_ARGS=()
if [ "${SANITIZE:-0}" = 1 ]; then
  export BUILD_DIR=build-asan CMAKE_ARGS="-DTM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
elif [ "${TSAN:-0}" = 1 ]; then
  export BUILD_DIR=build-tsan CMAKE_ARGS="-DTM_TSAN=ON -DCMAKE_BUILD_TYPE=Debug"
  reports="$PWD/build-tsan/tsan-reports"
  rm -rf "$reports" && mkdir -p "$reports"
  export TSAN_OPTIONS="log_path=$reports/race:second_deadlock_stack=1"
  export TM_STRESS_RELOADS=40
  CTEST_ARGS=(-L server -E 'durability|limits|faults')
fi
CMAKE_ARGS="-DTM_WERROR=ON ${CMAKE_ARGS:-}" scripts/setup.sh
# the browser test's chromium and playwright-core (BROWSER_TEST=0: skip them;
# then test_web is skipped too, outside CI)
[ "${BROWSER_TEST:-1}" = 0 ] || scripts/browser-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cd "$BUILD_DIR"
ctest --output-on-failure -j"$(nproc)" "${CTEST_ARGS[@]}"
if [ "${TSAN:-0}" = 1 ] && [ -n "$(ls -A "$reports")" ]; then
  cat "$reports"/* >&2
  echo "ThreadSanitizer reported $(cat "$reports"/* | grep -c '^WARNING: ThreadSanitizer') race(s); reports in $reports" >&2
  exit 1
fi
