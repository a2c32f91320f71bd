#!/usr/bin/env bash
# Auth with hashed tokens: a token file of sha256:HEX lines (and a plain
# one) with names; the tokens whose hashes are listed work with their roles,
# others do not; admin actions are logged with the token's name, and no
# token ever appears in the log.
source "$(dirname "$0")/lib.sh"
tma="$build/trailmap-admin"
session="$src/tests/corpus/sessions/05a71330a1dea36bac1f1e2ee421c7500821f6b791b8a73ecbc52677b14e1bff/InputEvents.json"
hash() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
admin_tok="alice-admin-secret-7f3a" submit_tok="ingest-secret-91c2" read_tok="reader-secret-0b5e"
upper=$(hash "$read_tok" | tr a-f A-F)
cat >"$tmp/tokens" <<T
# hashed tokens: printf %s TOKEN | sha256sum
sha256:$(hash "$admin_tok") admin alice-admin
sha256:$(hash "$submit_tok") submit
sha256:$upper read reader
plain-admin-token-42 admin
T
start_server "$tmp/data" --auth "$tmp/tokens" || exit 1
check "the server counts 4 tokens" grep -q "auth: 4 tokens" "$tmp/server.log"
check "submit works with the token whose hash is listed" "$tm" submit --token "$submit_tok" --session h "$session"
"$tm" submit --token "$(hash "$submit_tok")" --session h2 "$session" >/dev/null 2>"$tmp/err"; rc=$?
check "the hash itself is not a token" test $rc -eq 1
check "... UNAUTHENTICATED" grep -qi "unknown token" "$tmp/err"
"$tm" submit --token "${submit_tok}x" --session h2 "$session" >/dev/null 2>"$tmp/err"; rc=$?
check "a longer token is refused" test $rc -eq 1
"$tm" submit --token "$read_tok" --session h2 "$session" >/dev/null 2>"$tmp/err"; rc=$?
check "the read token (upper-case hash) cannot submit" test $rc -eq 1
check "... PERMISSION_DENIED names the role" grep -q "needs the submit role; this token has read" "$tmp/err"
check "the read token reads" "$tm" sessions --token "$read_tok"

# admin actions name the token
"$tma" reload --token "$submit_tok" >/dev/null 2>"$tmp/err"; rc=$?
check "reload with a submit token is refused" test $rc -eq 1
check "reload with the hashed admin token" "$tma" reload --token "$admin_tok"
check "the log names the token of the reload" grep -q "info .*api: ReloadRules by token 'alice-admin'" "$tmp/server.log"
check "reload with the plain admin token" "$tma" reload --token plain-admin-token-42
check "a plain token's default name is its line" grep -q "api: ReloadRules by token 'line 5'" "$tmp/server.log"
check "validate --remote with the admin token" "$tma" validate --remote "$src/rules" --token "$admin_tok"
check "the log names the token of the validation" grep -q "api: ValidateRules by token 'alice-admin'" "$tmp/server.log"
stop_server
leaked=0
for t in "$admin_tok" "$submit_tok" "$read_tok" plain-admin-token-42; do grep -qF "$t" "$tmp/server.log" && leaked=1; done
check "no token appears in the log" test $leaked -eq 0

# a broken line: trailmapd refuses to start and names file:line
printf 'sha256:%s admin\nsha256:abcd read\n' "$(hash "$admin_tok")" >"$tmp/bad_tokens"
"$tmd" --listen "tcp://127.0.0.1:$(free_port)" --http none --data "$tmp/d2" --rules "$src/rules" --auth "$tmp/bad_tokens" \
  >"$tmp/bad.log" 2>&1; rc=$?
check "a bad token file stops the start" test $rc -ne 0
check "... naming file:line" grep -q "$tmp/bad_tokens:2: sha256: wants the 64 hex digits" "$tmp/bad.log"
finish
