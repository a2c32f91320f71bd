#!/usr/bin/env bash
# Faults: trailmapd killed with SIGKILL five times while four clients submit
# batches at once, restarted each time on the same data directory.  Clients
# retry a batch until it is acknowledged (a resent batch is counted as
# duplicates, never twice).  At the end every acknowledged event is stored,
# nothing else is, and every session holds the events and signals that
# `trailmap map` derives offline from the stored events.
source "$(dirname "$0")/lib.sh"
CLIENTS=4 KILLS=5 COPIES=${TM_FAULT_COPIES:-12} BATCH=30

# Distinct events: copies of the three users' sessions (full CloudTrail
# records), each copy shifted by whole days with its own access keys and
# fresh eventIDs, shuffled into batches dealt to the clients.
python3 - "$src/tests/data/three_users.json.gz" "$tmp" "$COPIES" "$BATCH" "$CLIENTS" <<'PY'
import datetime, gzip, json, random, re, sys, uuid
src, out, copies, batch, clients = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
recs = json.load(gzip.open(src))["Records"]
rnd = random.Random(7470)
stamp = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)"')
key = re.compile(r'\b(ASIA|AKIA)[A-Z0-9]{16}\b')
def shift(m, days):
    t = m.group(1)
    frac = t[19:-1]
    d = datetime.datetime.strptime(t[:19], "%Y-%m-%dT%H:%M:%S") + datetime.timedelta(days=days)
    return '"' + d.strftime("%Y-%m-%dT%H:%M:%S") + frac + 'Z"'
events = []
for k in range(copies):
    for r in recs:
        r = dict(r)
        r["eventID"] = str(uuid.UUID(int=rnd.getrandbits(128)))
        text = json.dumps(r)
        text = stamp.sub(lambda m: shift(m, 3 * (k + 1)), text)
        text = key.sub(lambda m: m.group(0)[:4] + "%04d" % k + m.group(0)[8:], text)  # ASIA0003EXAMPLECAR001
        events.append(json.loads(text))
rnd.shuffle(events)
batches = [events[i:i + batch] for i in range(0, len(events), batch)]
for i, b in enumerate(batches):
    json.dump(b, open(f"{out}/c{i % clients}-b{i:04d}.json", "w"))
json.dump(sorted(e["eventID"] for e in events), open(f"{out}/all_ids.json", "w"))
PY
nbatches=$(ls "$tmp"/c*-b*.json | wc -l)

port=$(free_port)
export TRAILMAP_SERVER="tcp://127.0.0.1:$port"
start_server "$tmp/data" --listen "$TRAILMAP_SERVER" || exit 1

# client N: submits its batches in order, retrying each until acknowledged;
# after the first pass it keeps resending them (duplicates, harmless) until
# told to stop, so the server is under load at every kill however fast the
# machine is.  Every failed attempt is counted.
client() {
  local n=$1 b tries pass=0
  while :; do
    for b in "$tmp"/c"$n"-b*.json; do
      for tries in $(seq 1 300); do
        if "$tm" submit --timeout 10 "$b" >>"$tmp/client$n.out" 2>&1; then
          echo "$b" >>"$tmp/acked$n"
          break
        fi
        echo "$b" >>"$tmp/failed$n"
        sleep 0.05
      done
    done
    pass=$((pass + 1))
    [ -e "$tmp/stop" ] && break
  done
  echo "$pass" >"$tmp/finished$n"
}
pids=()
for n in $(seq 0 $((CLIENTS - 1))); do : >"$tmp/acked$n"; : >"$tmp/failed$n"; client "$n" & pids+=($!); done

acked_now() { cat "$tmp"/acked* | wc -l; }
kills=0
for k in $(seq 1 $KILLS); do
  # let a few batches through since the last restart, then kill mid-stream
  target=$(( $(acked_now) + nbatches / (3 * KILLS) ))
  for _ in $(seq 1 1000); do
    [ "$(acked_now)" -ge "$target" ] && break
    sleep 0.02
  done
  kill_server
  kills=$((kills + 1))
  start_server "$tmp/data" --listen "$TRAILMAP_SERVER" || { bad "restart $k on the same data"; finish; exit 1; }
done
touch "$tmp/stop"
for p in "${pids[@]}"; do wait "$p"; done
check "the server was killed $KILLS times under load (killed $kills)" test "$kills" -eq "$KILLS"
acked=$(cat "$tmp"/acked* | sort -u | wc -l)
check "every batch acknowledged in the end ($acked of $nbatches)" test "$acked" -eq "$nbatches"
failed=$(cat "$tmp"/failed* | wc -l)
check "the kills failed submits in flight, which were resent ($failed failed attempts)" test "$failed" -ge 1

# one more kill with nothing in flight, then the final check on a fresh start
kill_server
start_server "$tmp/data" --listen "$TRAILMAP_SERVER" || exit 1
"$tm" sessions --format json >"$tmp/sessions.json" || bad "sessions"
: >"$tmp/stored.jsonl"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d=d.get("sessions",d) if isinstance(d,dict) else d; print("\n".join(s["key"] for s in d))' \
  "$tmp/sessions.json" >"$tmp/keys"
while read -r key; do
  "$tm" events "$key" --format jsonl >>"$tmp/stored.jsonl" || bad "events $key"
done <"$tmp/keys"
check "every acknowledged event is stored, once, and nothing else" python3 - "$tmp" <<'PY'
import glob, json, sys
tmp = sys.argv[1]
acked = set()
for f in glob.glob(f"{tmp}/acked*"):
    for b in open(f).read().split():
        acked |= {e["eventID"] for e in json.load(open(b))}
stored = [json.loads(l)["eventID"] for l in open(f"{tmp}/stored.jsonl")]
generated = set(json.load(open(f"{tmp}/all_ids.json")))
missing = acked - set(stored)
assert not missing, f"{len(missing)} of {len(acked)} acknowledged events lost"
assert len(stored) == len(set(stored)), f"{len(stored) - len(set(stored))} events stored twice"
extra = set(stored) - generated
assert not extra, f"{len(extra)} stored events were never submitted"
print(f"{len(acked)} acknowledged, {len(stored)} stored", file=sys.stderr)
PY

# the sessions: the server's (keys, events, signals) against trailmap map
# of the stored events, offline
python3 -c 'import json,sys; ev=[json.loads(l) for l in open(sys.argv[1])]; [e.pop("trailmap") for e in ev]; json.dump(ev, open(sys.argv[2],"w"))' \
  "$tmp/stored.jsonl" "$tmp/stored.json"
"$tm" map --format json "$tmp/stored.json" >"$tmp/offline.json" || bad "offline map"
: >"$tmp/server_signals.jsonl"
while read -r key; do
  "$tm" signals "$key" --format json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' >>"$tmp/server_signals.jsonl" || bad "signals $key"
done <"$tmp/keys"
check "sessions, event counts and signals equal trailmap map's" python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
def sessions(doc):
    return doc["sessions"] if isinstance(doc, dict) and "sessions" in doc else [doc]
def digest(s):
    sigs = [(g["correlationId"], g["label"], g["eventCount"], g.get("suppressed", False)) for g in s["signals"]]
    return (s["events"], s["mappedEvents"], sorted(sigs))
offline = {s["session"]: digest(s) for s in sessions(json.load(open(f"{tmp}/offline.json")))}
server = {}
for line in open(f"{tmp}/server_signals.jsonl"):
    for s in sessions(json.loads(line)):
        server[s["session"]] = digest(s)
listed = json.load(open(f"{tmp}/sessions.json"))
listed = listed.get("sessions", listed) if isinstance(listed, dict) else listed
counts = {s["key"]: s["events"] for s in listed}
assert set(offline) == set(server), f"sessions differ: offline only {sorted(set(offline) - set(server))[:3]}, server only {sorted(set(server) - set(offline))[:3]}"
assert {k: v[0] for k, v in offline.items()} == counts, "event counts of the session list differ"
diff = [k for k in offline if offline[k] != server[k]]
assert not diff, f"{len(diff)} sessions map differently, e.g. {diff[0]}"
print(f"{len(offline)} sessions agree", file=sys.stderr)
PY
stop_server
check "clean stop after the faults" test $? -eq 0
finish
