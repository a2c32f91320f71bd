#!/usr/bin/env bash
# `trailmap-admin test` (offline): the rules give every session of
# tests/corpus exactly its expected signals; a change is reported field by
# field; missing and extra signals; repeated event ids count once; and
# `test --record` makes a fixture that then passes.
source "$(dirname "$0")/lib.sh"
adm="$build/trailmap-admin"
corpus="$src/tests/corpus/sessions"
n=$(ls "$corpus" | wc -l)

# the whole corpus, default corpus (tests/corpus/sessions next to rules/)
"$adm" test "$src/rules" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "test on tests/corpus exits 0 (got $rc)" test $rc -eq 0
check "every session identical" test "$(grep -c '  identical (' "$tmp/out")" -eq "$n"
check "the total says so" grep -q "^total: $n sessions, $n identical, 0 differ, 0 failed; .* 0 differ, 0 missing, 0 extra;" "$tmp/out"
"$adm" test "$src/rules" --corpus "$corpus" >"$tmp/out2" 2>&1
check "--corpus gives the same report" cmp -s "$tmp/out" "$tmp/out2"
tail -1 "$tmp/out"

# a changed name: reported per signal, field by field, exit 1
R="$tmp/rules"
cp -r "$src/rules" "$R"
python3 - "$R/signals/console.json" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
at = text.index('"label": "ConsoleLogin"')
m = re.compile(r'"name": "[^"]*"').search(text, at)
open(sys.argv[1], "w").write(text[:m.start()] + '"name": "Signed in"' + text[m.end():])
PY
"$adm" test "$R" --corpus "$corpus" >"$tmp/out" 2>&1; rc=$?
check "a difference exits 1" test $rc -eq 1
check "the field and both values are named" grep -q '^    Name: expected "Console Login" got "Signed in"$' "$tmp/out"
check "no other field differs" test "$(grep -c '^    [A-Za-z]*: ' "$tmp/out")" -eq "$(grep -c '^    Name: ' "$tmp/out")"
logins=$(grep -c '^  differs .* ConsoleLogin$' "$tmp/out")
check "each ConsoleLogin signal is listed ($logins)" test "$logins" -ge 1
check "the total counts them" grep -q "signals expected: [0-9]* identical, $logins differ, 0 missing, 0 extra" "$tmp/out"

# a hand-made fixture: a signal missing, one extra, a count off, and a
# repeated event id (which counts once, on both sides)
fx="$tmp/fx/one"
mkdir -p "$fx"
s0="$corpus/$(ls "$corpus" | head -1)"
cp "$s0/InputEvents.json" "$fx/"
python3 - "$s0/ExpectedSignals.json" "$fx/ExpectedSignals.json" <<'PY'
import json, sys
exp = json.load(open(sys.argv[1]))
keys = list(exp)
dropped = exp.pop(keys[0])                       # -> extra
exp["no-such-id"] = dict(exp[keys[1]], CorrelationId="no-such-id")   # -> missing
exp[keys[2]]["EventCount"] += 5                  # -> differs
s = exp[keys[3]]                                 # a repeated id: still identical
first = s["AllEventIdArr"].split(",")[0]
s["AllEventIdArr"] += "," + first
s["EventCount"] += 1
json.dump(exp, open(sys.argv[2], "w"), indent=2)

PY
"$adm" test "$src/rules" --corpus "$fx" >"$tmp/out" 2>&1; rc=$?
check "the hand-made fixture differs (exit $rc)" test $rc -eq 1
check "one extra" test "$(grep -c '^  extra ' "$tmp/out")" -eq 1
check "one missing" grep -q '^  missing no-such-id ' "$tmp/out"
check "one differs, on EventCount only" test "$(grep -c '^    ' "$tmp/out")" -eq 1 -a "$(grep -c '^    EventCount: expected ' "$tmp/out")" -eq 1
check "the session line counts 3" grep -q "^$fx  3 differences: 1 differ, 1 missing, 1 extra" "$tmp/out"

# --record: a fixture from one session of a file with three users
keys=$("$tm" map --format json "$src/tests/data/three_users.json.gz" | python3 -c 'import json,sys; print("\n".join(s["session"] for s in json.load(sys.stdin)["sessions"]))')
"$adm" test --record "$src/tests/data/three_users.json.gz" --out "$tmp/rec" >/dev/null 2>"$tmp/err"; rc=$?
check "several sessions and no --session: exit 2" test $rc -eq 2
check "the sessions are listed" test "$(grep -c '^  arn:' "$tmp/err")" -eq 3
key=$(echo "$keys" | grep alice)
"$adm" test --record "$src/tests/data/three_users.json.gz" --session "$key" --out "$tmp/fixtures/alice" >"$tmp/out" 2>&1; rc=$?
check "record exits 0 (got $rc)" test $rc -eq 0
check "record writes both files" test -s "$tmp/fixtures/alice/InputEvents.json" -a -s "$tmp/fixtures/alice/ExpectedSignals.json"
"$tm" map --format cartographer --session "$key" "$src/tests/data/three_users.json.gz" >"$tmp/alice.carto"
check "ExpectedSignals.json is what map gives for the session" cmp -s "$tmp/alice.carto" "$tmp/fixtures/alice/ExpectedSignals.json"
check "InputEvents.json holds that session's events" python3 - "$tmp/fixtures/alice/InputEvents.json" "$src/tests/data/three_users_1.json" <<'PY'
import json, sys
got = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))
want = want["Records"] if isinstance(want, dict) else want
assert sorted(r["eventID"] for r in got) == sorted(r["eventID"] for r in want), (len(got), len(want))
PY
"$adm" test --corpus "$tmp/fixtures" >"$tmp/out" 2>&1; rc=$?
check "the recorded fixture passes (exit $rc)" test $rc -eq 0
check "and is reported identical" grep -q "^alice  identical (" "$tmp/out"
"$adm" test "$R" --corpus "$tmp/fixtures" >"$tmp/out" 2>&1; rc=$?
check "the changed rules fail the recorded fixture" test $rc -eq 1
"$adm" test --record "$src/tests/data/three_users_1.json" --out "$tmp/fixtures/alice" >/dev/null 2>&1; rc=$?
check "an existing fixture is kept without --force" test $rc -eq 1
# a session saved as JSON lines by trailmap: the "trailmap" member is not recorded
"$tm" map --format jsonl "$src/tests/data/three_users_1.json" >"$tmp/alice.jsonl"
"$adm" test "$R" --record "$tmp/alice.jsonl" --out "$tmp/fixtures/alice" --force >/dev/null 2>&1; rc=$?
check "--force replaces it (exit $rc)" test $rc -eq 0
check "no \"trailmap\" member in the records" python3 -c 'import json,sys; assert all("trailmap" not in r for r in json.load(open(sys.argv[1])))' "$tmp/fixtures/alice/InputEvents.json"
"$adm" test "$R" --corpus "$tmp/fixtures" >/dev/null 2>&1
check "recorded with the changed rules: they pass it" test $? -eq 0

# usage
"$adm" test --help >/dev/null; check "test --help exits 0" test $? -eq 0
"$adm" test "$tmp/fixtures" >/dev/null 2>&1; rc=$?
check "no corpus next to the rules and none given: exit 2" test $rc -eq 2
"$adm" test --out "$tmp/x" >/dev/null 2>&1; rc=$?
check "--out without --record: exit 2" test $rc -eq 2
"$adm" test "$src/rules" --corpus "$tmp/nowhere" >/dev/null 2>&1; rc=$?
check "a corpus that does not exist: exit 1" test $rc -eq 1
finish
