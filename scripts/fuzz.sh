#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [HARNESS...]: builds the libFuzzer harnesses of
# tests/fuzz (clang, ASan + UBSan) in build-fuzz and runs each for SECONDS
# (default 60), one after the other, with its seed corpus and the
# dictionary.  First every regression input (tests/fuzz/regressions/
# HARNESS/*) runs once through its harness.  Prints, per harness, the runs
# reached and the executions per second; exits 1 when any harness crashed
# (or a regression input fails), naming the crash file.
#
#   scripts/fuzz.sh                 # every harness, 60 s each
#   scripts/fuzz.sh 600 fuzz_rpc    # one harness, 10 minutes
#   FUZZ_BUILD_DIR=DIR              # another build folder
#
# The seed corpora are read only: new inputs go to DIR/fuzz-corpus/HARNESS
# (kept between runs, so coverage accumulates), crash files to
# DIR/fuzz-artifacts/HARNESS/, full logs to DIR/fuzz-logs/HARNESS.log.
# A crash found: reproduce with `DIR/HARNESS FILE`, copy FILE to
# tests/fuzz/regressions/HARNESS/crash-NAME, fix, rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
shift || true
case "$SECS" in '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [HARNESS...]" >&2; exit 2 ;; esac
B=${FUZZ_BUILD_DIR:-build-fuzz}

# clang with libFuzzer, and the project's own packages (scripts/setup.sh's list)
PKGS="clang libclang-rt-14-dev $(sed -n 's/^PKGS="\(.*\)"$/\1/p' scripts/setup.sh)"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

cmake -S . -B "$B" -DCMAKE_C_COMPILER=clang -DTM_FUZZ=ON -DTM_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$B" -j"$(nproc)" --target fuzzers >/dev/null

if [ $# -eq 0 ]; then
  set -- $(for f in tests/fuzz/fuzz_*.c; do basename "$f" .c; done)
fi

# Per harness: the largest input worth trying and the time one input may take.
max_len() {
  case "$1" in
    fuzz_lang) echo 4096 ;;
    fuzz_http) echo 8192 ;;
    fuzz_event) echo 16384 ;;
    *) echo 65536 ;;
  esac
}
timeout_of() {
  case "$1" in
    fuzz_rules | fuzz_rpc) echo 30 ;;
    *) echo 10 ;;
  esac
}

export TM_SOURCE_DIR=$PWD
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$B/fuzz-logs"
failed=0
summary=""

for h in "$@"; do
  bin=$B/$h
  if [ ! -x "$bin" ]; then
    echo "fuzz: no harness $h (tests/fuzz/$h.c)" >&2
    failed=1
    continue
  fi
  # regression inputs: each must run clean
  if compgen -G "tests/fuzz/regressions/$h/*" >/dev/null; then
    if ! "$bin" tests/fuzz/regressions/"$h"/* >"$B/fuzz-logs/$h.regressions.log" 2>&1; then
      echo "fuzz: $h: a regression input fails again (tests/fuzz/regressions/$h/):" >&2
      grep -aE "^Running:|ERROR|SUMMARY|runtime error" "$B/fuzz-logs/$h.regressions.log" | tail -5 >&2 || true
      failed=1
      summary+=$(printf '%-12s regression input FAILED (see %s)' "$h" "$B/fuzz-logs/$h.regressions.log")$'\n'
      continue
    fi
    echo "fuzz: $h: $(ls tests/fuzz/regressions/"$h" | wc -l) regression input(s) pass"
  fi
  corpus=$B/fuzz-corpus/$h
  art=$B/fuzz-artifacts/$h
  mkdir -p "$corpus" "$art"
  seeds=tests/fuzz/corpus/$h
  [ -d "$seeds" ] || seeds=""
  log=$B/fuzz-logs/$h.log
  echo "fuzz: $h for ${SECS}s ..."
  rc=0
  "$bin" -max_total_time="$SECS" -timeout="$(timeout_of "$h")" -rss_limit_mb=2048 -max_len="$(max_len "$h")" \
    -dict=tests/fuzz/trailmap.dict -print_final_stats=1 -artifact_prefix="$art/" \
    "$corpus" $seeds >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  cov=$(grep -aoE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  if [ "$rc" -ne 0 ]; then
    failed=1
    crash=$(grep -aoE "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //' || true)
    echo "fuzz: $h CRASHED (exit $rc); input: ${crash:-see $log}" >&2
    grep -aE "ERROR|SUMMARY|runtime error|^    #[0-9]" "$log" | head -25 >&2 || true
    summary+=$(printf '%-12s CRASH after %s runs: %s' "$h" "${runs:-?}" "${crash:-see $log}")$'\n'
  else
    summary+=$(printf '%-12s %10s runs  %6s exec/s  peak %4s MB  %s' "$h" "${runs:-?}" "${eps:-?}" "${rss:-?}" \
      "$cov")$'\n'
  fi
done

echo
echo "fuzz summary (${SECS}s per harness; logs in $B/fuzz-logs):"
printf '%s' "$summary"
exit $failed
