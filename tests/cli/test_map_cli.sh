#!/usr/bin/env bash
# `trailmap map` as a user runs it: formats, errors, duplicates, stdin, gzip.
source "$(dirname "$0")/../check.sh"
export TRAILMAP_RULES="$src/rules"

session="$src/tests/corpus/sessions/01b11411976e0d80d2528881b018fc020d44a2620b901f89c31f65f506e94e44/InputEvents.json"

# --help and usage errors
check "map --help exits 0" "$tm" map --help >/dev/null
"$tm" map --format nope "$session" >/dev/null 2>"$tmp/err"; check "unknown format exits 2" test $? -eq 2
check "unknown format is named" grep -q 'unknown format "nope"' "$tmp/err"
"$tm" map >/dev/null 2>&1; check "no input exits 2" test $? -eq 2
"$tm" frobnicate >/dev/null 2>&1; check "unknown command exits 2" test $? -eq 2

# a document that is not JSON: file, line and column
printf '[\n  {"eventTime": "2023-01-01T00:00:00Z",\n   oops}\n]\n' >"$tmp/broken.json"
"$tm" map --format json "$tmp/broken.json" >/dev/null 2>"$tmp/err"; rc=$?
check "broken document exits 1" test $rc -eq 1
check "broken document names file:line:column" grep -q "broken.json:3:" "$tmp/err"

# a bad record inside a good document is reported and skipped, the rest is mapped
python3 - "$session" "$tmp/onebad.json" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))
del ev[5]["eventTime"]
json.dump(ev, open(sys.argv[2], "w"))
PY
"$tm" map --format cartographer "$tmp/onebad.json" >"$tmp/out.json" 2>"$tmp/err"; rc=$?
check "one bad record still exits 0" test $rc -eq 0
check "bad record reported with its index" grep -q "record 5" "$tmp/err"
check "bad record reason names eventTime" grep -q "eventTime" "$tmp/err"
check "the rest is mapped" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d) >= 10' "$tmp/out.json"

# cartographer output is what the scorer reads; json is trailmap's own document
"$tm" map --format cartographer "$session" >"$tmp/c.json"
"$tm" map --format json "$session" >"$tmp/j.json"
check "json document agrees with cartographer" python3 - "$tmp/c.json" "$tmp/j.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); j = json.load(open(sys.argv[2]))
assert j["rulesVersion"] and len(j["sessions"]) == 1
s = j["sessions"][0]
assert {x["correlationId"] for x in s["signals"]} == set(c)
assert s["events"] == 162 and s["mappedEvents"] + len(s["unmappedEvents"]) == 162
for x in s["signals"]:
    assert x["eventIds"] == c[x["correlationId"]]["AllEventIdArr"].split(",")
    assert x["labelsTried"], x
PY

# jsonl: every event once, raw text unchanged, with a trailmap member
"$tm" map --format jsonl "$session" >"$tmp/e.jsonl"
check "jsonl keeps every event and its fields" python3 - "$session" "$tmp/e.jsonl" "$tmp/c.json" <<'PY'
import json, sys
src = {e["eventID"]: e for e in json.load(open(sys.argv[1]))}
cart = json.load(open(sys.argv[3]))
lines = [json.loads(l) for l in open(sys.argv[2])]
assert len(lines) == len(src), (len(lines), len(src))
for l in lines:
    tm = l.pop("trailmap")
    assert l == src[l["eventID"]]
    if tm["signal"]:
        assert l["eventID"] in cart[tm["signal"]["correlationId"]]["AllEventIdArr"]
PY

# duplicates are counted once, and said so
python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); json.dump(e+e[:7], open(sys.argv[2],"w"))' "$session" "$tmp/dup.json"
"$tm" map --format cartographer "$tmp/dup.json" >"$tmp/dup.out" 2>"$tmp/err"
check "duplicates do not change the signals" cmp -s "$tmp/dup.out" "$tmp/c.json"
check "duplicates are reported" grep -q "7 duplicate records" "$tmp/err"

# gzip on standard input, Records form
python3 -c 'import json,sys,gzip; e=json.load(open(sys.argv[1])); gzip.open(sys.argv[2],"wt").write(json.dumps({"Records": e[::-1]}))' "$session" "$tmp/r.json.gz"
"$tm" map --format cartographer - <"$tmp/r.json.gz" >"$tmp/gz.out"
check "gzip'd Records on stdin map the same" cmp -s "$tmp/gz.out" "$tmp/c.json"

# the table names actions and totals
"$tm" map --format table --no-color "$session" >"$tmp/t.txt"
check "table shows a signal" grep -q "Clicked EC2->Instances->Launch Templates" "$tmp/t.txt"
check "table shows totals" grep -Eq "^162 events, [0-9]+ signals, [0-9.]+% of events mapped" "$tmp/t.txt"
check "table folds suppressed signals" grep -q "background signals" "$tmp/t.txt"
check "table has no colour codes with --no-color" bash -c "! grep -q $'\e' '$tmp/t.txt'"

# rules with a mistake are refused with their position, and nothing is mapped
cp -r "$src/rules" "$tmp/rules"
python3 - "$tmp/rules/signals/iam.json" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
open(p, "w").write(s.replace('"label": "IAM_Users"', '"label": "IAM_Users", "windw": [1, 1]', 1))
PY
"$tm" map --rules "$tmp/rules" "$session" >/dev/null 2>"$tmp/err"; rc=$?
check "bad rules exit 1" test $rc -eq 1
check "bad rules error names file:line:column" grep -Eq "rules/signals/iam.json:[0-9]+:[0-9]+: unknown member \"windw\"" "$tmp/err"

# three users' sessions interleaved, shuffled and gzip'd: each user's session
# gets the same signals as that user's events mapped alone
data="$src/tests/data"
"$tm" map --format json "$data/three_users.json.gz" >"$tmp/three.json"
for n in 1 2 3; do "$tm" map --format cartographer "$data/three_users_$n.json" >"$tmp/user$n.json"; done
check "three interleaved users give three sessions with their own signals" python3 - "$tmp/three.json" "$tmp/user1.json" "$tmp/user2.json" "$tmp/user3.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
sessions = doc["sessions"]
assert len(sessions) == 3, [s["session"] for s in sessions]
alone = [json.load(open(p)) for p in sys.argv[2:]]
assert all(len(a) > 3 for a in alone)
for s in sessions:
    ids = {x["correlationId"] for x in s["signals"]}
    match = [a for a in alone if set(a) == ids]
    assert len(match) == 1, (s["session"], len(ids))
    a = match[0]
    for x in s["signals"]:
        y = a[x["correlationId"]]
        assert x["label"] == y["Label"] and x["url"] == y["Url"] and x["additionalData"] == y["AdditionalData"]
        assert ",".join(x["eventIds"]) == y["AllEventIdArr"]
PY
"$tm" map --format cartographer --session "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sessions"][1]["session"])' "$tmp/three.json")" "$data/three_users.json.gz" >"$tmp/one.json"
check "--session keeps one session" python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert any(set(a)==set(json.load(open(p))) for p in sys.argv[2:])' "$tmp/one.json" "$tmp/user1.json" "$tmp/user2.json" "$tmp/user3.json"
"$tm" map --session nobody "$data/three_users.json.gz" >/dev/null 2>&1; check "--session with an unknown key exits 1" test $? -eq 1

finish
