#!/usr/bin/env bash
# Limits before trust on the RPC path, and costs bounded by request size.
# A raw client (sp_raw.py) sends what no well-behaved client would: an
# RpcRequest padded with 8 MB of unknown fields, 4,000,000 empty records, a
# document of 4,000,000 JSON values in 8 MB, a 1 GiB gzip bomb, NUL bytes in the method and the token, a flood from 64
# connections.  Each gets its status code, the server's peak memory
# (VmHWM) stays within a small multiple of the request, and error messages
# name no server path.  `trailmap map` on a gzip bomb: exit 1, one line.
source "$(dirname "$0")/lib.sh"
# under ASan, freed memory waits in a quarantine (256 MB by default) that
# would count as the server's; a small one keeps the figures comparable
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
raw() { python3 "$src/tests/server/sp_raw.py" "$TRAILMAP_SERVER" "$@"; }
hwm_kb() { awk '/VmHWM/{print $2}' "/proc/$server_pid/status"; }
MB=1024 # kB
# peak_within LABEL MB: the server's peak since start grew by less than MB
peak_within() {
  local grown=$(( $(hwm_kb) - base_kb ))
  echo "  $1: peak +$((grown / MB)) MB (bound $2 MB)"
  check "$1: peak memory +$((grown / MB)) MB within $2 MB" test "$grown" -lt $(($2 * MB))
}
# status_is LABEL STATUS: the last answer in $tmp/out has this status
status_is() { check "$1: $2 ($(cut -c1-160 "$tmp/out"))" grep -q "^status=$2 " "$tmp/out"; }

cat >"$tmp/tokens" <<'T'
submit-token-0002 submit
admin-token-00003 admin
T
tok=token=submit-token-0002
cp -r "$src/rules" "$tmp/rules"
start_server "$tmp/data" --auth "$tmp/tokens" --rules "$tmp/rules" --max-decoded-bytes 67108864 || exit 1
raw health "$tok" >/dev/null
base_kb=$(hwm_kb)
echo "  server at start: VmHWM $((base_kb / MB)) MB"

# (a) 8.4 MB of unknown fields: refused before anything is unpacked
raw pad-request 8400000 "$tok" >"$tmp/out"
status_is "padded RpcRequest" INVALID_ARGUMENT
check "padded RpcRequest: says which field" grep -q "no field 5" "$tmp/out"
raw pad-payload 8400000 >"$tmp/out"
status_is "padded payload, no token" UNAUTHENTICATED
raw pad-payload 8400000 "$tok" >"$tmp/out"
status_is "padded payload, good token" INVALID_ARGUMENT
peak_within "8.4 MB padded requests" $((4 * 9 + 32))

# (b) 4,000,000 empty records (8 MB): refused, small answer
raw empty-records 4000000 "$tok" >"$tmp/out"
status_is "4M empty records" RESOURCE_EXHAUSTED
bytes=$(sed -n 's/.* bytes=\([0-9]*\).*/\1/p' "$tmp/out")
check "4M empty records: answer of $bytes bytes" test "${bytes:-999999}" -lt 1024
peak_within "4M empty records" $((4 * 8 + 32))
# a document of 4,000,000 values "[0,0,...]" (8 MB) would be a 240 MB tree
raw zeros 4000000 "$tok" >"$tmp/out"
status_is "dense JSON document" RESOURCE_EXHAUSTED
check "dense JSON document: says so" grep -q "zeros.json holds 4000001 JSON values" "$tmp/out"
peak_within "dense JSON document" $((4 * 8 + 32))
# 50,000 records that are not JSON (3 MB): all counted, 100 listed
raw junk-records 50000 60 "$tok" >"$tmp/out"
status_is "50k bad records" OK
check "50k bad records: counted, 100 listed" grep -q "rejected=50000 listed=100 " "$tmp/out"
bytes=$(sed -n 's/.* bytes=\([0-9]*\).*/\1/p' "$tmp/out")
check "50k bad records: answer of $bytes bytes" test "${bytes:-999999}" -lt 65536

# (c) a 1 MB document that inflates to 1 GiB; the server allows 64 MiB
raw bomb 1073741824 "$tok" >"$tmp/out"
status_is "gzip bomb" RESOURCE_EXHAUSTED
check "gzip bomb: names the document and the limit" grep -q "bomb.json.gz inflates to more than 67108864 bytes" "$tmp/out"
# the limit, plus the half of it that a growing buffer may hold while it is copied
peak_within "gzip bomb" $((64 + 32 + 48))

# (d) NUL bytes: "Health\0X" is no method, "TOKEN\0junk" no token
raw method 'Health\0X' "$tok" >"$tmp/out"
status_is "method Health\\0X" UNIMPLEMENTED
raw health 'token=submit-token-0002\0junk' >"$tmp/out"
status_is "token with NUL" UNAUTHENTICATED
raw health "$tok" >"$tmp/out"
status_is "the right token" OK

# (e) errors name no server path: a broken rules file...
printf '{\n  "x": [\n' >"$tmp/rules/overrides.json"
raw method ReloadRules token=admin-token-00003 >"$tmp/out"
status_is "broken rules" INVALID_ARGUMENT
check "rules errors name the file" grep -q "overrides.json" "$tmp/out"
check "rules errors name no server path" bash -c "! grep -qF '$tmp' '$tmp/out'"
cp "$src/rules/overrides.json" "$tmp/rules/overrides.json"

# (f) a flood: 64 connections x 20 requests at once, every one answered
raw flood 64 20 "$tok" >"$tmp/out"
echo "  64 x 20 Health: $(cat "$tmp/out")"
check "flood of 1280 Health calls: all OK ($(cat "$tmp/out"))" grep -qx "OK=1280" "$tmp/out"
stop_server

# ...and a store that cannot write (file size limit): the client learns why,
# not where; the log has the path
cat >"$tmp/tmd-small-files" <<EOF
#!/bin/bash
ulimit -f 200
trap '' XFSZ
exec "$tmd" "\$@"
EOF
chmod +x "$tmp/tmd-small-files"
tmd_real=$tmd tmd="$tmp/tmd-small-files"
start_server "$tmp/small" --max-inflight-bytes 1048576 || exit 1
tmd=$tmd_real
"$tm" submit "$src/tests/data/three_users.json.gz" >"$tmp/submit.out" 2>&1
check "store error: the client is told" grep -q "the store could not write the batch" "$tmp/submit.out"
check "store error: no server path ($(cat "$tmp/submit.out"))" bash -c "! grep -qF '$tmp' '$tmp/submit.out'"
check "store error: the log has the path" grep -q "could not write the batch: store: $tmp/small" "$tmp/server.log"

# a flood of 600 KB submissions against 1 MiB in flight: each answered,
# OK or RESOURCE_EXHAUSTED, and Health still answers
raw flood 64 3 junk-records 2000 300 >"$tmp/out"
echo "  64 x 3 submissions of 600 KB, 1 MiB in flight: $(cat "$tmp/out")"
check "flood beyond the in-flight limit: only OK and RESOURCE_EXHAUSTED ($(cat "$tmp/out"))" \
  python3 -c 'import sys; c=dict(kv.split("=") for kv in open(sys.argv[1]).read().split()); assert set(c) <= {"OK","RESOURCE_EXHAUSTED"} and sum(map(int,c.values())) == 192, c' "$tmp/out"
raw health >"$tmp/out"
status_is "health after the flood" OK
stop_server

# --max-connections: 10 connections at once to a server taking 4; the
# other 6 are closed; once they are gone, 4 more are let in
start_server "$tmp/conns" --max-connections 4 || exit 1
raw hold 10 >"$tmp/out"
check "10 connections, 4 allowed: 4 answered, 6 closed ($(cat "$tmp/out"))" grep -qx "OK=4 closed=6" "$tmp/out"
for _ in $(seq 1 50); do # until the server has seen the closes
  raw hold 4 >"$tmp/out"
  grep -qx "OK=4" "$tmp/out" && break
  sleep 0.1
done
check "after they close, 4 more connections ($(cat "$tmp/out"))" grep -qx "OK=4" "$tmp/out"
check "refusals are logged" grep -q "4 connections open, refusing more" "$tmp/server.log"
stop_server

# `trailmap map` on a bomb: a clear error, exit 1, bounded memory
raw write-bomb 1073741824 "$tmp/bomb.json.gz"
python3 - "$tm" "$tmp/bomb.json.gz" "$tmp/map.err" <<'PY' >"$tmp/map.out"
import resource, subprocess, sys
with open(sys.argv[3], "w") as err:
    rc = subprocess.call([sys.argv[1], "map", "--max-decoded-bytes", "67108864", sys.argv[2]],
                         stdout=subprocess.DEVNULL, stderr=err)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
PY
read -r rc rss <"$tmp/map.out"
echo "  trailmap map on a 1 GiB bomb: exit $rc, peak RSS $rss MB"
check "map bomb: exit 1" test "$rc" -eq 1
check "map bomb: one line on stderr" test "$(wc -l <"$tmp/map.err")" -eq 1
check "map bomb: says what and the limit ($(cat "$tmp/map.err"))" grep -q "bomb.json.gz inflates to more than 67108864 bytes" "$tmp/map.err"
check "map bomb: peak RSS $rss MB within 64 + 64 MB" test "$rss" -lt 128
"$tm" map --max-decoded-bytes -5 "$tmp/bomb.json.gz" >/dev/null 2>&1; rc=$?
check "map: a bad --max-decoded-bytes is a usage error" test "$rc" -eq 2
finish
