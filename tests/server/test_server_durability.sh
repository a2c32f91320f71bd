#!/usr/bin/env bash
# trailmapd killed with SIGKILL in the middle of submissions, then restarted:
# every event whose batch was acknowledged is there, and the signals are the
# ones trailmap map gives for the stored events.
source "$(dirname "$0")/lib.sh"
start_server "$tmp/data" || exit 1
session="$src/tests/corpus/sessions/f41ce257ad0b02c6e5ba2724631129231ad751bb48dd849090341f4fee15310f/InputEvents.json"
python3 - "$session" "$tmp" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))
n = 0
for i in range(0, len(ev), 25):
    json.dump(ev[i:i + 25], open(f"{sys.argv[2]}/batch{n:03d}.json", "w")); n += 1
PY
: >"$tmp/acked"
(
  for b in "$tmp"/batch*.json; do
    if "$tm" submit --session kill-test "$b" >/dev/null 2>&1; then echo "$b" >>"$tmp/acked"; fi
  done
) &
submitter=$!
# let a part of the batches through, then kill the server mid-stream
for _ in $(seq 1 200); do [ "$(wc -l <"$tmp/acked")" -ge 15 ] && break; sleep 0.02; done
kill_server
wait "$submitter"
acked=$(wc -l <"$tmp/acked")
check "some batches were acknowledged before the kill ($acked)" test "$acked" -ge 15
check "some batches were refused after the kill" test "$acked" -lt "$(ls "$tmp"/batch*.json | wc -l)"

start_server "$tmp/data" || exit 1
"$tm" events kill-test --format jsonl >"$tmp/stored.jsonl"
check "every acknowledged event survived" python3 - "$tmp/acked" "$tmp/stored.jsonl" <<'PY'
import json, sys
stored = {json.loads(l)["eventID"] for l in open(sys.argv[2])}
want = set()
for b in open(sys.argv[1]).read().split():
    want |= {e["eventID"] for e in json.load(open(b))}
missing = want - stored
assert not missing, f"{len(missing)} acknowledged events lost of {len(want)}; {len(stored)} stored"
PY
python3 -c 'import json,sys; ev=[json.loads(l) for l in open(sys.argv[1])]; [e.pop("trailmap") for e in ev]; json.dump(ev, open(sys.argv[2],"w"))' "$tmp/stored.jsonl" "$tmp/stored.json"
"$tm" map --format cartographer "$tmp/stored.json" >"$tmp/map.json"
"$tm" signals kill-test --format cartographer >"$tmp/srv.json"
check "signals after the restart equal trailmap map of the stored events" cmp -s "$tmp/map.json" "$tmp/srv.json"
stop_server
finish
