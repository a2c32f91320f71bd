#!/usr/bin/env bash
# A good change to the rules of a running trailmapd shows in the next query,
# without a restart, under the new version; reverting it brings back the old
# answer byte for byte, and the old version string.
source "$(dirname "$0")/lib.sh"
adm="$build/trailmap-admin"
R="$tmp/rules"
cp -r "$src/rules" "$R"
start_server "$tmp/data" --rules "$R" --no-watch || exit 1
pid0=$server_pid

"$tm" submit --session s1 "$src/tests/data/three_users_1.json" >/dev/null 2>&1
"$tm" signals s1 --format json >"$tmp/base.json"
"$tm" signals s1 --format cartographer >"$tmp/base.carto"
v0=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rulesVersion"])' "$tmp/base.json")

# rename FILE LABEL NAME: sets the "name" of LABEL's definition, nothing else
rename() {
  python3 - "$@" <<'PY'
import json, re, sys
path, label, name = sys.argv[1:4]
text = open(path).read()
at = text.index('"label": "%s"' % label)
m = re.compile(r'"name": "((?:[^"\\]|\\.)*)"').search(text, at)
text = text[:m.start()] + '"name": ' + json.dumps(name) + text[m.end():]
open(path, "w").write(text)
PY
}

cp "$R/signals/console.json" "$tmp/console.orig"
rename "$R/signals/console.json" ConsoleHome "Console Home (edited)"
v1=$("$adm" validate "$R" | sed -n 's/.*ok, version \([0-9a-f]*\),.*/\1/p')
check "the edited rules are valid, with a new version" test -n "$v1" -a "$v1" != "$v0"

# not before a reload (no watcher here)
"$tm" signals s1 --format json >"$tmp/now.json"
check "no reload, no change" cmp -s "$tmp/base.json" "$tmp/now.json"

"$adm" reload --format json >"$tmp/reload.json"; rc=$?
check "reload exits 0" test $rc -eq 0
check "reload reports the new version, the old one and a change" python3 - "$tmp/reload.json" "$v1" "$v0" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["version"] == sys.argv[2] and r["previousVersion"] == sys.argv[3] and r["changed"] is True, r
assert r["labels"] > 200 and r["eventRules"] > 200 and r["overrides"] > 10, r
PY

# the next query: new version, the new name on the ConsoleHome signal, all else equal
"$tm" signals s1 --format json >"$tmp/new.json"
check "the next query uses the new rules" python3 - "$tmp/base.json" "$tmp/new.json" "$v1" <<'PY'
import json, sys
old, new = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert new["rulesVersion"] == sys.argv[3], new["rulesVersion"]
assert new["sessions"][0]["rulesVersion"] == sys.argv[3]
homes = [s for s in new["sessions"][0]["signals"] if s["label"] == "ConsoleHome"]
assert homes and all(s["name"] == "Console Home (edited)" for s in homes), homes
for s in old["sessions"][0]["signals"]:
    if s["label"] == "ConsoleHome":
        s["name"] = "Console Home (edited)"
old["rulesVersion"] = old["sessions"][0]["rulesVersion"] = sys.argv[3]
assert old == new, "more than the name changed"
PY
check "the server was not restarted" kill -0 "$pid0"

# revert: the old version string and the old answer, byte for byte
cp "$tmp/console.orig" "$R/signals/console.json"
"$adm" reload >"$tmp/out"; rc=$?
check "reverting reloads (exit $rc)" test $rc -eq 0
check "reverting reports the old version" grep -q "^reloaded: rules version $v0 (was $v1)" "$tmp/out"
"$tm" signals s1 --format json >"$tmp/now.json"
check "reverted: the old answer (json)" cmp -s "$tmp/base.json" "$tmp/now.json"
"$tm" signals s1 --format cartographer >"$tmp/now.carto"
check "reverted: the old answer (cartographer)" cmp -s "$tmp/base.carto" "$tmp/now.carto"

# nothing changed: unchanged, exit 0
"$adm" reload >"$tmp/out"; rc=$?
check "a reload without changes exits 0" test $rc -eq 0
check "and says unchanged" grep -q "^unchanged: rules version $v0," "$tmp/out"

# the log says what happened
check "the log names the new version" grep -q "ReloadRules: loaded $R: version $v1, " "$tmp/server.log"
check "the log names the unchanged reload" grep -q "ReloadRules: loaded $R: version $v0 (unchanged)" "$tmp/server.log"

"$adm" stats --format json >"$tmp/stats.json"
check "stats: 3 reloads, none refused, the version in use" python3 - "$tmp/stats.json" "$v0" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["reloads"] == 3 and s["reloadsRefused"] == 0 and s["rulesVersion"] == sys.argv[2], s
assert s["requests"]["ReloadRules"] == 3, s["requests"]
PY

stop_server; rc=$?
check "trailmapd exits cleanly on SIGTERM (status $rc)" test $rc -eq 0
check "no sanitizer report" bash -c "! grep -q 'Sanitizer' '$tmp/server.log'"
finish
