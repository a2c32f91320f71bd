#!/usr/bin/env bash
# Three users' interleaved sessions in one file of full CloudTrail records,
# no session key given: three sessions, each with the signals of that user's
# events mapped alone, whatever the batching.
source "$(dirname "$0")/lib.sh"
start_server "$tmp/data" || exit 1
data="$src/tests/data"

# the gzip'd file whole, then again split in shuffled JSON-lines batches
"$tm" submit "$data/three_users.json.gz" >"$tmp/s1.out" 2>&1
check "submit of the gzip'd file succeeds" grep -q "accepted" "$tmp/s1.out"
python3 - "$data/three_users.json.gz" "$tmp" <<'PY'
import gzip, json, random, sys
recs = json.load(gzip.open(sys.argv[1]))["Records"]
random.Random(3).shuffle(recs)
for i in range(4):
    open(f"{sys.argv[2]}/part{i}.jsonl", "w").write("\n".join(json.dumps(r) for r in recs[i::4]) + "\n")
PY
"$tm" submit "$tmp"/part*.jsonl >"$tmp/s2.out" 2>&1
check "resubmitting in batches only finds duplicates" grep -q "accepted 0," "$tmp/s2.out"

"$tm" sessions --format json >"$tmp/sessions.json"
check "three sessions" python3 - "$tmp/sessions.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); s = d["sessions"] if isinstance(d, dict) else d
assert len(s) == 3, [x.get("key") for x in s]
users = sorted(x.get("userName") or x.get("user_name") or "" for x in s)
assert users == ["alice", "bob@example.com", "carol"] or all(users), users
PY

for n in 1 2 3; do "$tm" map --format cartographer "$data/three_users_$n.json" >"$tmp/alone$n.json"; done
matched=0
for key in $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["sessions"] if isinstance(d,dict) else d; print("\n".join(x["key"] for x in s))' "$tmp/sessions.json"); do
  "$tm" signals "$key" --format cartographer >"$tmp/srv.json"
  for n in 1 2 3; do cmp -s "$tmp/srv.json" "$tmp/alone$n.json" && matched=$((matched + 1)); done
done
check "each session equals its user's events mapped alone" test "$matched" -eq 3

# a session's events: all, one signal's, the unmapped ones
key=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["sessions"] if isinstance(d,dict) else d; print(s[0]["key"])' "$tmp/sessions.json")
"$tm" events "$key" --format jsonl >"$tmp/ev.jsonl"
"$tm" signals "$key" --format json >"$tmp/sig.json"
check "events of a session come back raw and tagged" python3 - "$tmp/ev.jsonl" "$tmp/sig.json" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
doc = json.load(open(sys.argv[2])); s = doc["sessions"][0]
assert len(lines) == s["events"], (len(lines), s["events"])
assert all("trailmap" in l and "eventID" in l and "userIdentity" in l for l in lines)
PY
sig=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sessions"][0]["signals"][0]["correlationId"])' "$tmp/sig.json")
"$tm" events "$key" --signal "$sig" --format jsonl >"$tmp/one.jsonl"
check "one signal's events" python3 - "$tmp/one.jsonl" "$tmp/sig.json" "$sig" <<'PY'
import json, sys
ids = [json.loads(l)["eventID"] for l in open(sys.argv[1])]
s = [x for x in json.load(open(sys.argv[2]))["sessions"][0]["signals"] if x["correlationId"] == sys.argv[3]][0]
assert ids == s["eventIds"], (ids, s["eventIds"])
PY
"$tm" signals no-such-session >/dev/null 2>"$tmp/err"; rc=$?
check "unknown session exits 1" test $rc -eq 1
check "unknown session is named" grep -q "no-such-session" "$tmp/err"
stop_server
finish
