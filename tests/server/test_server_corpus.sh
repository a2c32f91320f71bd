#!/usr/bin/env bash
# Every corpus session submitted in several shuffled batches, some events
# twice, gives `signals --format cartographer` identical to `trailmap map`;
# a restart on the same data directory serves the same answers.
source "$(dirname "$0")/lib.sh"
start_server "$tmp/data" || exit 1

python3 - "$src/tests/corpus/sessions" "$tmp/batches" <<'PY'
import json, os, random, sys
src, out = sys.argv[1], sys.argv[2]
rng = random.Random(7)
for sid in sorted(os.listdir(src)):
    ev = json.load(open(os.path.join(src, sid, "InputEvents.json")))
    rng.shuffle(ev)
    k = rng.randint(2, 5)
    parts = [ev[i::k] for i in range(k)]
    parts[-1] += rng.sample(ev, min(10, len(ev)))        # some events sent twice
    d = os.path.join(out, sid)
    os.makedirs(d)
    for i, p in enumerate(parts):
        fmt = i % 3
        with open(os.path.join(d, f"b{i}.json"), "w") as f:
            if fmt == 0: json.dump(p, f)
            elif fmt == 1: json.dump({"Records": p}, f)
            else: f.write("\n".join(json.dumps(e) for e in p) + "\n")
PY

for d in "$tmp"/batches/*; do
  sid=$(basename "$d")
  "$tm" submit --session "corpus-$sid" "$d"/b*.json >"$tmp/submit.out" 2>&1 || bad "submit $sid: $(cat "$tmp/submit.out")"
done
# a resubmission is harmless and says so
sid=$(ls "$tmp/batches" | head -1)
"$tm" submit --session "corpus-$sid" "$tmp/batches/$sid"/b0.json >"$tmp/again.out" 2>&1
check "resubmitting reports duplicates" grep -Eq "accepted 0, duplicates [1-9]" "$tmp/again.out"

compare_all() {
  local when=$1 same=0 total=0
  for d in "$tmp"/batches/*; do
    sid=$(basename "$d")
    total=$((total + 1))
    "$tm" map --format cartographer "$src/tests/corpus/sessions/$sid/InputEvents.json" >"$tmp/map.json"
    "$tm" signals "corpus-$sid" --format cartographer >"$tmp/srv.json" 2>"$tmp/err"
    if cmp -s "$tmp/map.json" "$tmp/srv.json"; then same=$((same + 1)); else echo "differs ($when): $sid $(head -c 300 "$tmp/err")" >&2; fi
  done
  check "$when: all $total sessions identical to trailmap map ($same)" test "$same" -eq "$total"
}
compare_all "batched"
sid=078ddd9d58c4691c16b0af6b1bd3a0873a93dde865bac129a90836e3f631ca85
"$tm" map --format json "$src/tests/corpus/sessions/$sid/InputEvents.json" | sed "s/\"default\"/\"corpus-$sid\"/" >"$tmp/map.json"
"$tm" signals "corpus-$sid" --format json >"$tmp/srv.json"
check "signals --format json equals map --format json" cmp -s "$tmp/map.json" "$tmp/srv.json"
"$tm" sessions --format json >"$tmp/sessions.json"
check "24 sessions listed" python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); s=s["sessions"] if isinstance(s,dict) else s; assert len(s)==24, len(s)' "$tmp/sessions.json"

check "SIGTERM stops cleanly" stop_server
start_server "$tmp/data" || exit 1
compare_all "after restart"
stop_server
finish
