#!/usr/bin/env bash
# The web page in a real browser (Debian's chromium, headless, driven by
# playwright-core from tests/browser/node_modules): trailmapd serves it, a
# corpus session is submitted, and tests/browser/test_web.mjs checks the
# page against what the trailmap command prints.  Screenshots go to
# $TM_BUILD_DIR/web-screenshots/.
#
# Without chromium or node_modules the test is skipped (exit 77), unless CI
# is set: then it fails.  scripts/browser-deps.sh installs both.
src=${TM_SOURCE_DIR:?} build=${TM_BUILD_DIR:?}
chromium=${CHROMIUM:-/usr/bin/chromium}
missing=""
[ -x "$chromium" ] || missing="$missing $chromium"
command -v node >/dev/null 2>&1 || missing="$missing node"
[ -d "$src/tests/browser/node_modules/playwright-core" ] || missing="$missing tests/browser/node_modules"
if [ -n "$missing" ]; then
  if [ -z "${CI:-}" ]; then
    echo "SKIP: the browser test needs$missing (scripts/browser-deps.sh installs them)"
    exit 77
  fi
  echo "FAIL: CI is set and the browser test cannot run: missing$missing (run scripts/browser-deps.sh)" >&2
  exit 1
fi
source "$(dirname "$0")/lib.sh"
t0=$(date +%s.%N)

# the page's URL: port 0 picks a free port, the log names it
web_url() { grep -o 'serving the web page on http://127.0.0.1:[0-9]*/' "$tmp/server.log" | tail -1 | sed 's/.* on //'; }

start_server "$tmp/data" --http http://127.0.0.1:0 || exit 1
url=$(web_url)
check "the log names the page's address" test -n "$url"

# a corpus session under a key that needs URL-encoding, plus two events no
# rule explains; and the three users' sessions, keyed by ARN and sign-in time
key='corpus/96db #1 a+b'
corpus="$src/tests/corpus/sessions/96db9634834704ac9e2c1be410bbf9a7819449043eaf6a47edd76a925515c666/InputEvents.json"
cat >"$tmp/unmapped.json" <<'JSON'
[{"eventTime": "2024-04-13T05:20:00Z", "eventID": "aaaaaaaa-0000-4000-8000-000000000001", "eventSource": "madeup.amazonaws.com", "eventName": "DescribeNothing", "requestParameters": {"x": 1}, "responseElements": null, "userAgent": "Mozilla/5.0", "awsRegion": "us-east-1"},
 {"eventTime": "2024-04-13T05:20:03Z", "eventID": "aaaaaaaa-0000-4000-8000-000000000002", "eventSource": "madeup.amazonaws.com", "eventName": "ListWidgets", "requestParameters": null, "responseElements": null, "userAgent": "Mozilla/5.0", "awsRegion": "us-east-1"}]
JSON
check "submit the corpus session" "$tm" submit --session "$key" "$corpus" "$tmp/unmapped.json" >/dev/null
check "submit the three users" "$tm" submit "$src/tests/data/three_users.json.gz" >/dev/null
# a key whose URL ends in a %-escape (see safeTarget in web/app.js)
colon_key='ends in a colon:'
cat >"$tmp/colon.json" <<'JSON'
{"eventTime": "2024-05-01T10:00:00Z", "eventID": "bbbbbbbb-0000-4000-8000-000000000001", "eventSource": "madeup.amazonaws.com", "eventName": "ListGadgets", "requestParameters": null, "responseElements": null, "userAgent": "Mozilla/5.0", "awsRegion": "us-east-1"}
JSON
check "submit a session whose key ends in ':'" "$tm" submit --session "$colon_key" "$tmp/colon.json" >/dev/null
"$tm" signals "$key" --format json >"$tmp/signals.json"
"$tm" signals "$key" --format cartographer >"$tmp/carto.json"
"$tm" events "$key" --format jsonl >"$tmp/events.jsonl"
arn_key=$("$tm" sessions --format json --principal alice | python3 -c 'import json,sys; print(json.load(sys.stdin)["sessions"][0]["key"])')

export TM_WEB_URL="$url" TM_KEY="$key" TM_ARN_KEY="$arn_key" TM_COLON_KEY="$colon_key" TM_SIGNALS="$tmp/signals.json" \
  TM_CARTO="$tmp/carto.json" TM_JSONL="$tmp/events.jsonl" TM_SHOTS="$build/web-screenshots" CHROMIUM="$chromium"
check "the page in the browser" env TM_MODE=main node "$src/tests/browser/test_web.mjs"
check "trailmapd stops cleanly with the page served" stop_server

# with tokens: the page signs in with one
printf 'web-reader-token-0001 read\n' >"$tmp/tokens"
start_server "$tmp/data" --http http://127.0.0.1:0 --auth "$tmp/tokens" || exit 1
check "the page with tokens" env TM_MODE=auth TM_WEB_URL="$(web_url)" TM_TOKEN=web-reader-token-0001 \
  node "$src/tests/browser/test_web.mjs"
check "trailmapd stops cleanly with tokens" stop_server
check "no sanitizer reports from trailmapd" bash -c "! grep -q 'Sanitizer\|runtime error' '$tmp/server.log'"

# without --auth an --http URL that is not loopback is refused
"$tmd" --http http://0.0.0.0:0 --listen "tcp://127.0.0.1:$(free_port)" --data "$tmp/d2" --rules "$src/rules" \
  >"$tmp/noauth.log" 2>&1; rc=$?
check "no auth on http://0.0.0.0 refused" test $rc -ne 0
check "refusal names --http" grep -q -- "--http http://0.0.0.0:0 is not a loopback" "$tmp/noauth.log"

echo "screenshots: $build/web-screenshots/"
echo "time: $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}s')" "$t0" "$(date +%s.%N)")"
finish
