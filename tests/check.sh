# check.sh: what every shell test shares.  Source it; it sets $src, $build,
# $tm (the client), $tmp (a scratch dir removed at exit, with anything the
# test left running) and defines check / ok / bad / finish.
set -uo pipefail
src=${TM_SOURCE_DIR:?} build=${TM_BUILD_DIR:?}
tm="$build/trailmap"
tmp=$(mktemp -d)
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# check WHAT COMMAND...: COMMAND's exit status is the verdict
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; }
cleanup() { local j; for j in $(jobs -p); do kill "$j" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
