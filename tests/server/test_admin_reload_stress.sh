#!/usr/bin/env bash
# 200 reloads while four clients query without pause: no query fails, and
# every answer was made by one whole ruleset.  The rules alternate between
# two copies that differ in the names of two labels (ConsoleHome and
# ConsoleLogin, both in the signals of the session queried); each answer must
# equal, signal for signal, what the ruleset of the version it reports gives
# (computed offline), so an answer half old, half new fails.
# The server must then exit cleanly (LeakSanitizer reports at exit in the
# ASan build).
source "$(dirname "$0")/lib.sh"
adm="$build/trailmap-admin"
R="$tmp/rules"
RELOADS=${TM_STRESS_RELOADS:-200}

# A small ruleset made of real definitions (ConsoleLogin, ConsoleHome,
# EC2_EC2Dashboard, and IAM_Users for its vars and templates), with a chain
# holding a regex and an override, so that 200 loads stay quick under
# AddressSanitizer while each still builds and frees every kind of part.
# (The full rules are reloaded in the other test_admin_* tests.)  Copy A is
# it; copy B renames ConsoleHome and ConsoleLogin.
mkdir -p "$R/signals" "$R/labels"
python3 - "$src/rules" "$R" "$tmp/a.json" "$tmp/b.json" <<'PY'
import glob, json, sys
src, out, a_path, b_path = sys.argv[1:5]
defs = {}
for f in sorted(glob.glob(src + "/signals/*.json")):
    for d in json.load(open(f))["signals"]:
        defs[d["label"]] = d
keep = ["ConsoleLogin", "ConsoleHome", "EC2_EC2Dashboard", "IAM_Users"]
sigs = [defs[l] for l in keep]
assert not any("extends" in d for d in sigs)
emits = {}
for d in sigs:
    for key in ("anchor", "required", "optional"):
        for ev in d.get(key, []):
            if ev != "*" and d["label"] not in emits.setdefault(ev, []):
                emits[ev].append(d["label"])
events = []
for ev, labels in emits.items():
    if ev == "signin:ConsoleLogin":
        events.append({"event": ev, "chain": [
            {"when": {"f": "responseElements.ConsoleLogin", "regex": "^(Success|Failure)$"}, "emit": labels},
            {"emit": labels}]})
    else:
        events.append({"event": ev, "emit": labels})
json.dump({"events": events}, open(out + "/labels/mini.json", "w"), indent=1)
json.dump({"strip_brackets": True, "families": [{"family": "AWS_Internal", "all": [{"equals": "AWS Internal"}]}],
           "default": "Undefined"}, open(out + "/useragent.json", "w"), indent=1)
json.dump({"overrides": [{"stage": "rewrite", "label": "EC2_EC2Dashboard", "to": "IAM_Users",
                          "if": {"sig": -1, "label_prefix": "No_Such_Prefix_"}}]},
          open(out + "/overrides.json", "w"), indent=1)
json.dump({"signals": sigs}, open(a_path, "w"), indent=1)
for d in sigs:
    if d["label"] in ("ConsoleHome", "ConsoleLogin"):
        d["name"] += " (B)"
json.dump({"signals": sigs}, open(b_path, "w"), indent=1)
PY
cp "$tmp/a.json" "$R/signals/console.json"
# put FILE in place atomically (rename), so a reload reads one copy or the other
put() { cp "$1" "$R/signals/.console.json.tmp" && mv -f "$R/signals/.console.json.tmp" "$R/signals/console.json"; }

# the session queried: the events of alice's first signals (console login,
# console home, the EC2 dashboard), few enough that mapping it again after
# each reload stays cheap in the ASan build
in="$tmp/session.json"
"$tm" map --rules "$src/rules" --format json "$src/tests/data/three_users_1.json" >"$tmp/full.json"
python3 - "$src/tests/data/three_users_1.json" "$tmp/full.json" "$in" <<'PY'
import json, sys
recs = json.load(open(sys.argv[1]))
recs = recs["Records"] if isinstance(recs, dict) else recs
sigs = json.load(open(sys.argv[2]))["sessions"][0]["signals"]
keep = {i for s in sigs if s["label"] in ("ConsoleLogin", "ConsoleHome", "EC2_EC2Dashboard") for i in s["eventIds"]}
json.dump([r for r in recs if r["eventID"] in keep], open(sys.argv[3], "w"))
PY

# what each ruleset gives: the expected signals per version, offline
vA=$("$adm" validate "$R" | sed -n 's/.*ok, version \([0-9a-f]*\),.*/\1/p')
"$tm" map --rules "$R" --format json "$in" >"$tmp/want.A.json"
put "$tmp/b.json"
vB=$("$adm" validate "$R" | sed -n 's/.*ok, version \([0-9a-f]*\),.*/\1/p')
"$tm" map --rules "$R" --format json "$in" >"$tmp/want.B.json"
put "$tmp/a.json"
check "two valid versions" test -n "$vA" -a -n "$vB" -a "$vA" != "$vB"

start_server "$tmp/data" --rules "$R" --no-watch || exit 1
"$tm" submit --session s1 "$in" >/dev/null 2>&1

mkdir "$tmp/ans"
client() {
  local id=$1 n=0
  # below the reloading loop, so the 2 cores of CI are not all theirs
  renice -n 10 -p "$BASHPID" >/dev/null 2>&1
  while [ -d "$tmp" ] && [ ! -e "$tmp/stop" ]; do
    n=$((n + 1))
    if ! "$tm" signals s1 --format json >"$tmp/ans/$id.$n.json" 2>"$tmp/ans/$id.$n.err"; then
      echo "client $id query $n failed: $(cat "$tmp/ans/$id.$n.err")" >>"$tmp/failures"
    fi
  done
}
pids=()
for id in 1 2 3 4; do client "$id" & pids+=($!); done

t0=$(date +%s.%N)
refused=0 wrong=0
for i in $(seq 1 "$RELOADS"); do
  if [ $((i % 2)) -eq 1 ]; then put "$tmp/b.json"; want=$vB; else put "$tmp/a.json"; want=$vA; fi
  out=$("$adm" reload 2>&1) || { refused=$((refused + 1)); echo "reload $i: $out" >&2; continue; }
  [[ $out == "reloaded: rules version $want "* ]] || { wrong=$((wrong + 1)); echo "reload $i: $out" >&2; }
done
t1=$(date +%s.%N)
touch "$tmp/stop"
for p in "${pids[@]}"; do wait "$p"; done
echo "$RELOADS reloads in $(python3 -c "print(round($t1 - $t0, 1))") s; $(ls "$tmp/ans" | grep -c 'json$') answers"

check "every reload accepted ($refused refused)" test "$refused" -eq 0
check "every reload reports the version it loaded ($wrong wrong)" test "$wrong" -eq 0
check "no query failed" test ! -e "$tmp/failures"
[ -e "$tmp/failures" ] && head -5 "$tmp/failures" >&2
check "every answer is all-old or all-new, as its version says" python3 - "$tmp/ans" "$tmp/want.A.json" "$tmp/want.B.json" "$vA" "$vB" <<'PY'
import json, os, sys
d, wa, wb, va, vb = sys.argv[1:6]
def sig(doc):
    return [(s["correlationId"], s["label"], s["name"], s["summary"], s["eventIds"]) for s in doc["sessions"][0]["signals"]]
want = {va: sig(json.load(open(wa))), vb: sig(json.load(open(wb)))}
assert want[va] != want[vb]
labels = [l for _, l, _, _, _ in want[va]]
assert "ConsoleHome" in labels and "ConsoleLogin" in labels, labels
seen = {va: 0, vb: 0}
for f in sorted(os.listdir(d)):
    if not f.endswith(".json"):
        continue
    doc = json.load(open(os.path.join(d, f)))
    v = doc["rulesVersion"]
    assert v in want, f"{f}: unknown version {v}"
    assert doc["sessions"][0]["rulesVersion"] == v, f
    got = sig(doc)
    if got != want[v]:
        names = sorted({n for _, l, n, _, _ in got if l in ("ConsoleHome", "ConsoleLogin")})
        sys.exit(f"{f}: version {v} but the answer differs from that ruleset's (names {names})")
    seen[v] += 1
print("answers per version:", seen)
assert seen[va] > 0 and seen[vb] > 0, "both versions should have answered"
PY

"$adm" stats --format json >"$tmp/stats.json"
check "stats: $RELOADS reloads done, none refused" python3 - "$tmp/stats.json" "$RELOADS" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["reloads"] == int(sys.argv[2]) and s["reloadsRefused"] == 0, s
PY

stop_server; rc=$?
check "trailmapd exits cleanly on SIGTERM (status $rc)" test $rc -eq 0
check "no sanitizer report" bash -c "! grep -q 'Sanitizer' '$tmp/server.log'"
finish
