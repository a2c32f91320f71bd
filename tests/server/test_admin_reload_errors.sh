#!/usr/bin/env bash
# A running trailmapd refuses a ruleset with errors: `trailmap-admin reload`
# exits 1 with every error at its exact file:line:column, the log has them
# too, and the server keeps answering with the old version, the same answers.
# One reload per kind of error (JSON syntax, unknown label in an emit or in an
# override, bad regex, template naming an unknown value, duplicate label),
# then all at once, then SIGHUP; finally the good rules again.
source "$(dirname "$0")/lib.sh"
adm="$build/trailmap-admin"
R="$tmp/rules"
cp -r "$src/rules" "$R"
start_server "$tmp/data" --rules "$R" --no-watch || exit 1

"$tm" submit --session s1 "$src/tests/data/three_users_1.json" >/dev/null 2>&1
"$tm" signals s1 --format json >"$tmp/base.json"
v0=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rulesVersion"])' "$tmp/base.json")
check "a first answer with a rules version" test -n "$v0"
cp "$R/overrides.json" "$tmp/overrides.orig"
refusals=0

stat_of() { "$adm" stats --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# refused WHAT LINE...: reload is refused with exactly these error lines (and
# no other), the server log has each, `validate` offline finds the same, and
# the server still answers with the old version, byte for byte.
refused() {
  local what=$1; shift
  "$adm" reload >"$tmp/out" 2>"$tmp/err"; local rc=$?
  refusals=$((refusals + 1))
  check "$what: reload exits 1 (got $rc)" test $rc -eq 1
  printf '%s\n' "$@" | sort >"$tmp/want"
  # the server names files relative to its rules directory (no server path
  # reaches a client); its log and offline validate name them in full
  printf '%s\n' "$@" | sed "s#$R/##g" | sort >"$tmp/want_rel"
  grep -E '^[A-Za-z0-9_./-]+\.json:[0-9]+:[0-9]+: ' "$tmp/err" | sort >"$tmp/got"
  if cmp -s "$tmp/want_rel" "$tmp/got"; then ok; else bad "$what: the errors"; diff "$tmp/want_rel" "$tmp/got" >&2; fi
  check "$what: no server path in the client's errors" bash -c "! grep -qF '$R' '$tmp/err'"
  check "$what: says the running rules stay" grep -q "refused: $# error.*; still using rules $v0" "$tmp/err"
  check "$what: nothing on stdout" test ! -s "$tmp/out"
  local line
  for line in "$@"; do check "$what: logged: $line" grep -qF -- "$line" "$tmp/server.log"; done
  "$adm" validate "$R" >/dev/null 2>"$tmp/verr"
  grep "^$R/" "$tmp/verr" | sort >"$tmp/vgot"
  check "$what: validate finds the same" cmp -s "$tmp/want" "$tmp/vgot"
  "$tm" signals s1 --format json >"$tmp/now.json" 2>&1
  check "$what: the answer is unchanged (version $v0)" cmp -s "$tmp/base.json" "$tmp/now.json"
}

# good: back to the original files
restore() {
  rm -f "$R"/signals/zz_*.json "$R"/labels/zz_*.json
  cp "$tmp/overrides.orig" "$R/overrides.json"
}

# 1. JSON syntax: a comma before the closing brace
printf '{"signals": [\n  {"label": "ZZ_One", "service": "N/A", "name": "One", "url": "N/A", "summary": "One.",\n   "anchor": ["zz:One"], "required": ["zz:One"],}\n]}\n' >"$R/signals/zz_test.json"
refused "JSON syntax" "$R/signals/zz_test.json:3:49: string or '}' expected near '}'"
restore

# 2. an event rule emits a label no signal defines
printf '{"events": [\n  {"event": "zztest:Foo", "emit": ["No_Such_Label"]}\n]}\n' >"$R/labels/zz_test.json"
refused "unknown label in emit" "$R/labels/zz_test.json:2:36: unknown label \"No_Such_Label\" (no signal defines it)"
restore

# 3. an override renames to a label no signal defines
printf '{"overrides": [\n  {"stage": "rewrite", "label": "IAM_Users", "to": "No_Such_Label"}\n]}\n' >"$R/overrides.json"
refused "unknown label in override" "$R/overrides.json:2:52: unknown label \"No_Such_Label\""
restore

# 4. a regex that does not compile
printf '{"events": [\n  {"event": "zztest:Bar",\n   "chain": [{"when": {"f": "requestParameters.x", "regex": "a(b"}, "emit": ["IAM_Users"]}]}\n]}\n' >"$R/labels/zz_test.json"
refused "bad regex" "$R/labels/zz_test.json:3:61: bad regex \"a(b\": Unmatched ( or \\("
restore

# 5. a summary naming a value the signal does not have
printf '{"signals": [\n  {"label": "ZZ_One", "service": "N/A", "name": "One", "url": "N/A",\n   "summary": "Saw {{nosuchvar}} here.",\n   "anchor": ["zz:One"], "required": ["zz:One"]}\n]}\n' >"$R/signals/zz_test.json"
refused "template naming an unknown value" "$R/signals/zz_test.json:3:15: template: unknown value \"nosuchvar\""
restore

# 6. the same label defined twice
printf '{"signals": [\n  {"label": "ZZ_One", "service": "N/A", "name": "One", "url": "N/A", "summary": "One.", "anchor": ["zz:One"], "required": ["zz:One"]},\n  {"label": "ZZ_One", "service": "N/A", "name": "Two", "url": "N/A", "summary": "Two.", "anchor": ["zz:One"], "required": ["zz:One"]}\n]}\n' >"$R/signals/zz_test.json"
refused "duplicate label" "$R/signals/zz_test.json:3:13: duplicate label \"ZZ_One\" (first defined at $R/signals/zz_test.json:2:13)"
restore

# 7. all of them at once: every error is reported, not the first
printf '{"signals": [\n  {"label": "ZZ_One", "service": "N/A", "name": "One", "url": "N/A", "summary": "One.",\n   "anchor": ["zz:One"], "required": ["zz:One"],}\n]}\n' >"$R/signals/zz_broken.json"
printf '{"events": [\n  {"event": "zztest:Foo", "emit": ["No_Such_Label"]},\n  {"event": "zztest:Bar",\n   "chain": [{"when": {"f": "requestParameters.x", "regex": "a(b"}, "emit": ["IAM_Users"]}]}\n]}\n' >"$R/labels/zz_test.json"
printf '{"overrides": [\n  {"stage": "rewrite", "label": "IAM_Users", "to": "No_Such_Label"}\n]}\n' >"$R/overrides.json"
printf '{"signals": [\n  {"label": "ZZ_Two", "service": "N/A", "name": "Two", "url": "N/A",\n   "summary": "Saw {{nosuchvar}} here.",\n   "anchor": ["zz:Two"], "required": ["zz:Two"]}\n]}\n' >"$R/signals/zz_test.json"
printf '{"signals": [\n  {"label": "ZZ_Two", "service": "N/A", "name": "Two", "url": "N/A", "summary": "Two.", "anchor": ["zz:Two"], "required": ["zz:Two"]}\n]}\n' >"$R/signals/zz_dup.json"
refused "every error at once" \
  "$R/signals/zz_broken.json:3:49: string or '}' expected near '}'" \
  "$R/labels/zz_test.json:2:36: unknown label \"No_Such_Label\" (no signal defines it)" \
  "$R/labels/zz_test.json:4:61: bad regex \"a(b\": Unmatched ( or \\(" \
  "$R/overrides.json:2:52: unknown label \"No_Such_Label\"" \
  "$R/signals/zz_test.json:2:13: duplicate label \"ZZ_Two\" (first defined at $R/signals/zz_dup.json:2:13)"

# the same through ValidateRules: the server's loader, names relative to the files sent
"$adm" validate --remote "$R" >/dev/null 2>"$tmp/rerr"; rc=$?
check "validate --remote exits 1" test $rc -eq 1
grep "^$R/" "$tmp/rerr" | sort >"$tmp/rgot"
check "validate --remote finds the same errors" cmp -s "$tmp/want" "$tmp/rgot"

# SIGHUP with the broken files: refused, logged, old rules kept
before=$(grep -c "SIGHUP: 5 errors in $R; still using rules $v0" "$tmp/server.log")
kill -HUP "$server_pid"
for _ in $(seq 1 50); do
  [ "$(grep -c "SIGHUP: 5 errors in $R; still using rules $v0" "$tmp/server.log")" -gt "$before" ] && break
  sleep 0.1
done
refusals=$((refusals + 1))
check "SIGHUP with errors is refused and logged" grep -q "SIGHUP: 5 errors in $R; still using rules $v0" "$tmp/server.log"
"$tm" signals s1 --format json >"$tmp/now.json" 2>&1
check "after SIGHUP the answer is unchanged" cmp -s "$tmp/base.json" "$tmp/now.json"
check "stats count every refusal ($refusals)" test "$(stat_of reloadsRefused)" -eq "$refusals"
check "stats: the version is the old one" test "$(stat_of rulesVersion)" = "$v0"
check "stats: no reload done" test "$(stat_of reloads)" -eq 0

# the good files again: accepted, same version, same answers
restore
"$adm" reload >"$tmp/out" 2>"$tmp/err"; rc=$?
check "the original rules reload (exit $rc)" test $rc -eq 0
check "reload says unchanged" grep -q "^unchanged: rules version $v0" "$tmp/out"
"$tm" signals s1 --format json >"$tmp/now.json" 2>&1
check "answers as at the start" cmp -s "$tmp/base.json" "$tmp/now.json"

stop_server; rc=$?
check "trailmapd exits cleanly on SIGTERM (status $rc)" test $rc -eq 0
check "no sanitizer report" bash -c "! grep -q 'Sanitizer' '$tmp/server.log'"
finish
