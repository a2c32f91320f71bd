#!/usr/bin/env bash
# Faults of the data directory, on a small tmpfs (root only; exits 77 where
# it cannot be mounted):
#   full disk    submits are refused with UNAVAILABLE and a clear message,
#                reads (sessions, signals, stats) are still served, the log
#                says it once with a count of repeats; once there is room
#                again (remount bigger, or a file removed) submits succeed
#   full at start   a warning names the directory and the cause
#   read-only    a warning at start; it never runs silently.  (Read-only
#                under a running server: test_server_faults_readonly.sh;
#                Linux refuses `mount -o remount,ro` while trailmapd holds
#                its files open for writing, with EBUSY, bind mounts too.)
# At the end every acknowledged event is stored.
source "$(dirname "$0")/lib.sh"
tma="$build/trailmap-admin"
mnt="$tmp/mnt"
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=8m tmpfs "$mnt" 2>"$tmp/mount.err"; then
  echo "SKIP: cannot mount a tmpfs here (needs root): $(cat "$tmp/mount.err")"
  exit 77
fi
# the server first (it holds the files open), then the mount, then lib.sh's cleanup
disk_cleanup() {
  [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  server_pid=""
  umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
  cleanup
}
trap disk_cleanup EXIT

# 40 batches of 242 distinct full CloudTrail records (about 300 KB each):
# copies of the three users' sessions, shifted by days, fresh eventIDs
python3 "$src/tests/server/fault_batches.py" make "$src/tests/data/three_users.json.gz" "$tmp" 40 7471 || exit 1
: >"$tmp/acked"
# submit FILE: 0 and noted when acknowledged; the client's output in $tmp/last
submit() {
  "$tm" submit "$1" >"$tmp/last" 2>&1 && echo "$1" >>"$tmp/acked"
}

start_server "$tmp/data-unused" --data "$mnt/data" || exit 1
# ---- fill the disk
first_fail=""
for b in "$tmp"/b*.json; do
  if ! submit "$b"; then first_fail=$b; break; fi
done
acked_before=$(wc -l <"$tmp/acked")
check "some batches fit before the disk was full ($acked_before)" test "$acked_before" -ge 2
check "a submit failed when the disk was full" test -n "$first_fail"
check "the refusal says UNAVAILABLE" grep -q "UNAVAILABLE" "$tmp/last"
check "the refusal says the disk is full" grep -qi "disk is full\|no space" "$tmp/last"
refused=0
for b in "$tmp"/b3[0-9].json; do
  "$tm" submit "$b" >"$tmp/last" 2>&1; rc=$?
  [ "$rc" -eq 1 ] && grep -q UNAVAILABLE "$tmp/last" && refused=$((refused + 1))
done
check "every further submit is refused with exit 1 and UNAVAILABLE ($refused of 10)" test "$refused" -eq 10

# ---- reads are still served
"$tm" sessions --format json >"$tmp/sessions.json"
check "sessions are listed on a full disk" test $? -eq 0
key1=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d=d.get("sessions",d) if isinstance(d,dict) else d; print(d[0]["key"])' "$tmp/sessions.json")
"$tm" signals "$key1" --format json >"$tmp/signals.json"
check "a stored session's signals are served on a full disk" test $? -eq 0
check "... and hold signals" grep -q '"correlationId"' "$tmp/signals.json"
"$tm" events "$key1" --format jsonl >"$tmp/ev1.jsonl"
check "a stored session's events are served on a full disk" test -s "$tmp/ev1.jsonl"
"$tma" stats >"$tmp/stats.txt" 2>&1
check "stats are served on a full disk" test $? -eq 0

# ---- the log: the failure said once, the repeats counted, not 11 lines
# (the first line, then a count every 10 s and one at the next message: a
# slow machine may take more than 10 s for the 11 refusals)
nfull=$(grep -ci "disk is full\|no space" "$tmp/server.log")
check "the log holds the full disk in at most 4 lines ($nfull) for 11 refusals" test "$nfull" -ge 1 -a "$nfull" -le 4

# ---- room again: a bigger tmpfs; the refused batch and the rest go in
mount -o remount,size=64m "$mnt"
check "the refused batch is accepted once there is room" submit "$first_fail"
check "... with its events new" grep -q "accepted 242" "$tmp/last"
for b in "$tmp"/b3[0-4].json; do submit "$b" || bad "submit $b after the remount: $(cat "$tmp/last")"; done
stop_server
check "clean stop" test $? -eq 0
check "the log counted the repeats of the failure" grep -q "disk is full (repeated [0-9]* more time" "$tmp/server.log"

# start_on_bad_dir CAUSE BATCH: trailmapd started on a data directory it
# cannot write warns with CAUSE, and is never silent: either it runs, serves
# reads and refuses BATCH with UNAVAILABLE, or it exits non-zero with an
# error about the store.
start_on_bad_dir() {
  local cause=$1 batch=$2 port pid rc
  port=$(free_port)
  : >"$tmp/bad.log"
  timeout 20 "$tmd" --listen "tcp://127.0.0.1:$port" --http none --data "$mnt/data" --rules "$src/rules" >"$tmp/bad.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do grep -q "trailmapd: ready" "$tmp/bad.log" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  check "$cause: a warning at start naming the directory and the cause" \
    grep -q "warn .*store: data directory $mnt/data is not writable ($cause)" "$tmp/bad.log"
  if grep -q "trailmapd: ready" "$tmp/bad.log"; then
    "$tm" submit --server "tcp://127.0.0.1:$port" "$batch" >"$tmp/last" 2>&1; rc=$?
    check "$cause: submits refused with UNAVAILABLE" test $rc -eq 1 -a -n "$(grep UNAVAILABLE "$tmp/last")"
    check "$cause: reads served" "$tm" sessions --server "tcp://127.0.0.1:$port"
    kill -TERM "$pid"
    wait "$pid"
  else
    wait "$pid"; rc=$?
    check "$cause: trailmapd exits with an error when it cannot open the store ($rc)" test $rc -ne 0 -a $rc -ne 124
    check "$cause: the error names the store" grep -q "error .*store: .*cannot open" "$tmp/bad.log"
  fi
  cat "$tmp/bad.log" >>"$tmp/server.log"
}

# ---- full at start
dd if=/dev/zero of="$mnt/filler" bs=1M count=100 >/dev/null 2>&1
start_on_bad_dir "No space left on device" "$tmp/b35.json"
rm -f "$mnt/filler"
start_server "$tmp/data-unused" --data "$mnt/data" || exit 1
check "space freed: submits succeed again" submit "$tmp/b35.json"
stop_server

# ---- read-only at start
mount -o remount,ro "$mnt"
start_on_bad_dir "Read-only file system" "$tmp/b36.json"

# ---- writable again: everything acknowledged is there
mount -o remount,rw "$mnt"
start_server "$tmp/data-unused" --data "$mnt/data" || exit 1
"$tm" sessions --format json >"$tmp/sessions.json"
: >"$tmp/stored.jsonl"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d=d.get("sessions",d) if isinstance(d,dict) else d; print("\n".join(s["key"] for s in d))' \
  "$tmp/sessions.json" >"$tmp/keys"
while read -r k; do "$tm" events "$k" --format jsonl >>"$tmp/stored.jsonl" || bad "events $k"; done <"$tmp/keys"
check "every acknowledged event is stored, once" python3 "$src/tests/server/fault_batches.py" check "$tmp"
stop_server
finish
