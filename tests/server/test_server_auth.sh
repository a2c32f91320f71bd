#!/usr/bin/env bash
# Auth: tokens and roles; TLS with a certificate; no-auth servers refuse
# non-loopback listeners.
source "$(dirname "$0")/lib.sh"
session="$src/tests/corpus/sessions/05a71330a1dea36bac1f1e2ee421c7500821f6b791b8a73ecbc52677b14e1bff/InputEvents.json"
cat >"$tmp/tokens" <<'T'
# token role
reader-token-0001 read
submit-token-0002 submit
admin-token-00003 admin
T
start_server "$tmp/data" --auth "$tmp/tokens" || exit 1
TRAILMAP_TOKEN= "$tm" sessions >/dev/null 2>"$tmp/err"; rc=$?
check "no token: exit 1" test $rc -eq 1
check "no token: UNAUTHENTICATED" grep -qi "unauthenticated\|token is required" "$tmp/err"
"$tm" sessions --token wrong-token-123 >/dev/null 2>"$tmp/err"; rc=$?
check "unknown token: exit 1" test $rc -eq 1
check "unknown token: UNAUTHENTICATED" grep -qi "unauthenticated\|unknown token" "$tmp/err"
"$tm" submit --token reader-token-0001 --session a "$session" >/dev/null 2>"$tmp/err"; rc=$?
check "read token submitting: exit 1" test $rc -eq 1
check "read token submitting: PERMISSION_DENIED" grep -qi "permission\|needs the submit role" "$tmp/err"
check "submit token submits" "$tm" submit --token submit-token-0002 --session a "$session"
TRAILMAP_TOKEN=reader-token-0001 "$tm" signals a --format cartographer >"$tmp/got.json" 2>"$tmp/err"
"$tm" map --format cartographer "$session" >"$tmp/want.json"
check "read token reads (TRAILMAP_TOKEN)" cmp -s "$tmp/want.json" "$tmp/got.json"
stop_server

# without --auth, a non-loopback listener is refused
"$tmd" --listen tcp://0.0.0.0:$(free_port) --data "$tmp/d2" --rules "$src/rules" >"$tmp/noauth.log" 2>&1; rc=$?
check "no auth on 0.0.0.0 refused" test $rc -ne 0
check "refusal explains loopback" grep -q "loopback" "$tmp/noauth.log"

# TLS
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 \
  -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1
port=$(free_port)
export TRAILMAP_SERVER="tls+tcp://127.0.0.1:$port"
start_server "$tmp/data3" --listen "$TRAILMAP_SERVER" --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" || exit 1
check "TLS submit with --ca" "$tm" submit --ca "$tmp/cert.pem" --session t "$session"
"$tm" signals t --ca "$tmp/cert.pem" --format cartographer >"$tmp/tls.json" 2>&1
check "TLS answers like map" cmp -s "$tmp/want.json" "$tmp/tls.json"
"$tm" sessions >/dev/null 2>&1; rc=$?
check "TLS without --ca fails" test $rc -ne 0
stop_server
# a dead server: exit 3
TRAILMAP_SERVER="tcp://127.0.0.1:$(free_port)" "$tm" sessions >/dev/null 2>&1; rc=$?
check "unreachable server exits 3" test $rc -eq 3
finish
