#!/usr/bin/env bash
# trailmap-admin against a real trailmapd: --help and exit statuses, rules
# (server and offline give the same document), stats, coverage (a stored
# session and the same events as a file agree), validate --remote, tokens.
source "$(dirname "$0")/lib.sh"
adm="$build/trailmap-admin"
cat >"$tmp/tokens" <<'T'
reader-token-0001 read
admin-token-00003 admin
T
start_server "$tmp/data" --auth "$tmp/tokens" --no-watch || exit 1
export TRAILMAP_TOKEN=admin-token-00003

# --help everywhere, usage errors
check "trailmap-admin --help exits 0" "$adm" --help >/dev/null
for c in validate test reload rules stats coverage; do
  "$adm" $c --help >"$tmp/help" 2>&1; rc=$?
  check "$c --help exits 0" test $rc -eq 0
  check "$c --help starts with usage" grep -q "^usage: trailmap-admin $c" "$tmp/help"
done
"$adm" frobnicate >/dev/null 2>&1; check "unknown command: exit 2" test $? -eq 2
"$adm" >/dev/null 2>&1; check "no command: exit 2" test $? -eq 2
"$adm" stats --format yaml >/dev/null 2>&1; check "unknown format: exit 2" test $? -eq 2
"$adm" reload --bogus >/dev/null 2>&1; check "unknown option: exit 2" test $? -eq 2
"$adm" validate >/dev/null 2>&1; check "validate without DIR: exit 2" test $? -eq 2
"$adm" coverage >/dev/null 2>&1; check "coverage without SESSION|FILE: exit 2" test $? -eq 2
"$adm" stats --timeout 0 >/dev/null 2>&1; check "bad --timeout: exit 2" test $? -eq 2

# unreachable: 3; a bad address: 2
dead="tcp://127.0.0.1:$(free_port)"
for c in reload stats rules; do
  "$adm" $c --server "$dead" >/dev/null 2>"$tmp/err"; rc=$?
  check "$c on a dead address: exit 3 (got $rc)" test $rc -eq 3
  check "$c on a dead address: says so" grep -q "cannot reach $dead" "$tmp/err"
done
TRAILMAP_SERVER=$dead "$adm" coverage some-session >/dev/null 2>&1; rc=$?
check "TRAILMAP_SERVER is used (coverage on a dead address: 3)" test $rc -eq 3
"$adm" reload --server "bogus://x" >/dev/null 2>&1; rc=$?
check "bad server address: exit 2" test $rc -eq 2

# tokens: the rules calls need admin
"$adm" reload --token reader-token-0001 >/dev/null 2>"$tmp/err"; rc=$?
check "reload with a read token: exit 1" test $rc -eq 1
check "reload with a read token: PERMISSION_DENIED" grep -q "PERMISSION_DENIED" "$tmp/err"
TRAILMAP_TOKEN= "$adm" stats >/dev/null 2>"$tmp/err"; rc=$?
check "no token: exit 1, UNAUTHENTICATED" test $rc -eq 1
check "no token: says UNAUTHENTICATED" grep -q "UNAUTHENTICATED" "$tmp/err"
check "stats with a read token" "$adm" stats --token reader-token-0001 >/dev/null

# rules: the running ruleset equals the directory's offline listing
"$adm" rules --format json >"$tmp/server.rules" 2>"$tmp/err"; rc=$?
check "rules from the server: exit 0" test $rc -eq 0
"$adm" rules --rules "$src/rules" --format json >"$tmp/offline.rules"
check "rules: server and offline give the same document" cmp -s "$tmp/server.rules" "$tmp/offline.rules"
check "rules: the document's shape" python3 - "$tmp/server.rules" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
keys = ["label", "service", "name", "url", "summary", "anchor", "required", "optional", "window", "flags",
        "additionalData", "file", "line"]
assert len(d["version"]) == 16 and len(d["labels"]) > 200
for l in d["labels"]:
    assert list(l) == keys, list(l)
    assert l["anchor"] == "*" or isinstance(l["anchor"], list)
    assert len(l["window"]) == 2 and l["file"].startswith(("signals/",)) and l["line"] > 0, l
PY
"$adm" rules --service iam --format json >"$tmp/iam.server"
"$adm" rules --service IAM --rules "$src/rules" --format json >"$tmp/iam.offline"
check "rules --service: the same both ways, ignoring case" cmp -s "$tmp/iam.server" "$tmp/iam.offline"
check "rules --service: only that service" python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); assert d["labels"] and all(l["service"] == "IAM" for l in d["labels"])' "$tmp/iam.server"
"$adm" rules >"$tmp/table"
check "rules table: a count and the version" grep -q "^[0-9]* labels, rules version [0-9a-f]\{16\}$" "$tmp/table"

# coverage: a stored session, and the same events as a file
s078="$src/tests/corpus/sessions/078ddd9d58c4691c16b0af6b1bd3a0873a93dde865bac129a90836e3f631ca85/InputEvents.json"
"$tm" submit --session cov "$s078" >/dev/null 2>&1
"$adm" coverage cov --format json >"$tmp/cov.server" 2>"$tmp/err"; rc=$?
check "coverage of a session: exit 0" test $rc -eq 0
"$adm" coverage "$s078" --rules "$src/rules" --format json >"$tmp/cov.file"
check "coverage: server and file agree, most frequent first" python3 - "$tmp/cov.server" "$tmp/cov.file" <<'PY'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a["rulesVersion"] == b["rulesVersion"] and a["events"] == b["events"] and a["unmapped"] == b["unmapped"], (a, b)
assert a["kinds"] == b["kinds"], (a["kinds"], b["kinds"])
assert a["unmapped"] == sum(k["count"] for k in a["kinds"]) > 0
counts = [k["count"] for k in a["kinds"]]
assert counts == sorted(counts, reverse=True)
for k in a["kinds"]:
    src, name = k["event"].split(":")
    assert src.endswith(".amazonaws.com") and k["example"]["eventId"], k
PY
"$adm" coverage cov >"$tmp/cov.table"
top=$(python3 -c 'import json,sys; k=json.load(open(sys.argv[1]))["kinds"][0]; print(k["count"], k["event"], k["example"]["eventId"])' "$tmp/cov.server")
set -- $top
check "coverage table: the most frequent first, with its example" grep -Eq "^ +$1  $2 +$3 \{" <(sed -n 3p "$tmp/cov.table")
check "coverage table: the totals" grep -q "^session cov: [0-9]* of [0-9]* events unmapped" "$tmp/cov.table"
"$adm" coverage no-such-session >/dev/null 2>"$tmp/err"; rc=$?
check "coverage of an unknown session: exit 1" test $rc -eq 1
check "coverage of an unknown session: NOT_FOUND" grep -q "NOT_FOUND" "$tmp/err"

# validate --remote agrees with validate on good rules (the same version)
"$adm" validate "$src/rules" >"$tmp/v.local"; rc1=$?
"$adm" validate --remote "$src/rules" >"$tmp/v.remote"; rc2=$?
check "validate and validate --remote accept the rules" test $rc1 -eq 0 -a $rc2 -eq 0
vl=$(sed -n 's/.*version \([0-9a-f]*\),.*/\1/p' "$tmp/v.local")
vr=$(sed -n 's/.*version \([0-9a-f]*\),.*/\1/p' "$tmp/v.remote")
check "and give the same version" test -n "$vl" -a "$vl" = "$vr"
"$adm" validate "$src/rules/" >"$tmp/v.slash"
check "a trailing slash does not change the version" grep -q "version $vl," "$tmp/v.slash"

# stats
"$adm" stats --format json >"$tmp/stats.json"
check "stats json" python3 - "$tmp/stats.json" "$vl" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["rulesVersion"] == sys.argv[2] and s["sessions"] == 1 and s["events"] > 0, s
assert s["reloads"] == 0 and s["reloadsRefused"] == 0 and s["labels"] > 200
assert s["requests"]["SubmitEvents"] == 1 and s["requests"]["ValidateRules"] == 1 and s["requests"]["ListRules"] >= 3
assert s["uptimeSeconds"] > 0 and s["rulesLoaded"].endswith("Z")
PY
"$adm" stats >"$tmp/stats.txt"
for w in "sessions" "events" "rules version" "reloads" "uptime" "requests"; do
  check "stats table: $w" grep -q "^$w" "$tmp/stats.txt"
done

stop_server; rc=$?
check "trailmapd exits cleanly on SIGTERM (status $rc)" test $rc -eq 0
check "no sanitizer report" bash -c "! grep -q 'Sanitizer' '$tmp/server.log'"
finish
