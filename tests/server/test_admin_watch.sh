#!/usr/bin/env bash
# The rules directory watcher: editing a file in the rules directory of a
# running trailmapd (no SIGHUP, no RPC) brings the new version within a few
# seconds; a broken edit is refused and the old rules stay; with --no-watch
# nothing happens until SIGHUP.
source "$(dirname "$0")/lib.sh"
adm="$build/trailmap-admin"
R="$tmp/rules"
cp -r "$src/rules" "$R"
cp "$R/signals/console.json" "$tmp/console.orig"

version_of() { "$adm" stats --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "${1:-rulesVersion}"; }
# wait_for WHAT VALUE [SECONDS]: polls `stats` until WHAT equals VALUE
wait_for() {
  local i
  for i in $(seq 1 $((${3:-5} * 10))); do
    [ "$(version_of "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
# wait_at_least WHAT N [SECONDS]: polls `stats` until the count WHAT is N or more
wait_at_least() {
  local i
  for i in $(seq 1 $((${3:-5} * 10))); do
    [ "$(version_of "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
# edit the name of ConsoleHome in place, as an editor saving the file would
edit() {
  python3 - "$R/signals/console.json" "$1" <<'PY'
import json, re, sys
path, name = sys.argv[1:3]
text = open(path).read()
at = text.index('"label": "ConsoleHome"')
m = re.compile(r'"name": "((?:[^"\\]|\\.)*)"').search(text, at)
open(path, "w").write(text[:m.start()] + '"name": ' + json.dumps(name) + text[m.end():])
PY
}
home_name() {
  "$tm" signals s1 --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["rulesVersion"], *sorted({s["name"] for s in d["sessions"][0]["signals"] if s["label"] == "ConsoleHome"}))'
}

# ---- watching (the default)
start_server "$tmp/data" --rules "$R" || exit 1
"$tm" submit --session s1 "$src/tests/data/three_users_1.json" >/dev/null 2>&1
v0=$(version_of)
check "served as the original rules say" test "$(home_name)" = "$v0 Console Home"

edit "Console Home (watched)"
v1=$("$adm" validate "$R" | sed -n 's/.*ok, version \([0-9a-f]*\),.*/\1/p')
t0=$(date +%s.%N)
check "an edited file is loaded within 5 s" wait_for rulesVersion "$v1" 5
echo "reloaded after $(python3 -c "print(round($(date +%s.%N) - $t0, 2))") s"
check "the next query uses it" test "$(home_name)" = "$v1 Console Home (watched)"
check "the log says the directory changed" grep -q "rules directory changed: loaded $R: version $v1" "$tmp/server.log"

# a broken save: refused, logged, the running rules stay
refused0=$(version_of reloadsRefused)
printf '{"signals": [\n  {"label": "ZZ_One",}\n]}\n' >"$R/signals/zz_broken.json"
check "a broken file is refused within 5 s" wait_at_least reloadsRefused $((refused0 + 1)) 5
check "the refusal is logged with its position" grep -qF "$R/signals/zz_broken.json:2:22: string or '}' expected near '}'" "$tmp/server.log"
check "the old rules stay" test "$(home_name)" = "$v1 Console Home (watched)"

# fixed again, and the original name back: the original version
rm "$R/signals/zz_broken.json"
cp "$tmp/console.orig" "$R/signals/console.json"
check "back to the original version within 5 s" wait_for rulesVersion "$v0" 5
check "and the original answer" test "$(home_name)" = "$v0 Console Home"
stop_server; rc=$?
check "trailmapd exits cleanly on SIGTERM (status $rc)" test $rc -eq 0

# ---- --no-watch: edits wait for SIGHUP
start_server "$tmp/data" --rules "$R" --no-watch || exit 1
check "--no-watch: the original rules" test "$(version_of)" = "$v0"
edit "Console Home (watched)"
sleep 2 # the watcher's debounce is 0.3 s: long enough for it to have acted
check "--no-watch: an edit is not loaded" test "$(version_of)" = "$v0"
check "--no-watch: nothing reloaded" test "$(version_of reloads)" -eq 0
check "--no-watch: the answer is unchanged" test "$(home_name)" = "$v0 Console Home"
kill -HUP "$server_pid"
check "--no-watch: SIGHUP loads it" wait_for rulesVersion "$v1" 5
check "--no-watch: the next query uses it" test "$(home_name)" = "$v1 Console Home (watched)"

stop_server; rc=$?
check "trailmapd exits cleanly on SIGTERM (status $rc)" test $rc -eq 0
check "no sanitizer report" bash -c "! grep -q 'Sanitizer' '$tmp/server.log'"
finish
