#!/usr/bin/env bash
# The web page's JSON API without a browser (python3's urllib and
# http.client): every endpoint against what the trailmap command prints for
# the same data, paging, errors, the Host check, tokens, and https://.
source "$(dirname "$0")/lib.sh"

cat >"$tmp/api.py" <<'PY'
import http.client, json, ssl, sys, urllib.error, urllib.parse, urllib.request

base = sys.argv[2]
fails = 0

def say(ok, what):
    global fails
    if not ok:
        fails += 1
    print(("ok   " if ok else "FAIL ") + what, flush=True)

def get(path, token=None, ctx=None):
    """(status, headers, body bytes)"""
    req = urllib.request.Request(base + path)
    if token is not None:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30, context=ctx) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()

def get_json(path, token=None):
    st, h, b = get(path, token)
    try:
        return st, json.loads(b)
    except ValueError:
        return st, None

def enc(key):
    return urllib.parse.quote(key, safe="")

def is_error(st, doc, want):
    return st == want and isinstance(doc, dict) and isinstance(doc.get("error"), str)

def main_checks():
    sessions_cli = json.load(open(sys.argv[3]))["sessions"]
    key = sys.argv[4]
    signals_cli = json.load(open(sys.argv[5]))["sessions"][0]["signals"]
    carto_cli = open(sys.argv[6], "rb").read()
    jsonl_cli = open(sys.argv[7], "rb").read()

    st, doc = get_json("/api/health")
    say(st == 200 and doc and doc["serving"] is True and doc["rulesVersion"], "health: %s" % st)
    _, h, _ = get("/api/health")
    say(h.get("Content-Type", "").startswith("application/json") and h.get("Cache-Control") == "no-store",
        "JSON answers are application/json, no-store")

    # sessions: the same keys as `trailmap sessions`, also page by page
    st, doc = get_json("/api/sessions")
    keys = sorted(s["key"] for s in doc["sessions"]) if st == 200 else []
    say(keys == sorted(s["key"] for s in sessions_cli) and len(keys) >= 4, "sessions: %d, as the CLI lists" % len(keys))
    paged, token, rounds = [], "", 0
    while rounds < 50:
        st, doc = get_json("/api/sessions?page_size=2" + ("&page_token=" + enc(token) if token else ""))
        if st != 200:
            break
        paged += [s["key"] for s in doc["sessions"]]
        token = doc["nextPageToken"]
        rounds += 1
        if not token:
            break
    say(sorted(paged) == keys and rounds >= 2, "sessions in pages of 2: %d pages, the same keys" % rounds)
    alice = [s for s in sessions_cli if "alice" in s.get("principalArn", "")]
    st, doc = get_json("/api/sessions?principal=alice")
    say(st == 200 and doc["sessions"] and all("alice" in s["principalArn"] for s in doc["sessions"]),
        "sessions?principal=alice: only alice's")
    st, doc = get_json("/api/sessions?from=2100-01-01T00:00:00Z")
    say(st == 200 and doc["sessions"] == [], "sessions from 2100: none")

    # a session: the signals of `trailmap signals KEY --format json`
    st, doc = get_json("/api/sessions/" + enc(key))
    say(st == 200 and doc["session"]["key"] == key, "session %s: %s" % (key, st))
    say(st == 200 and [s["correlationId"] for s in doc["signals"]] == [s["correlationId"] for s in signals_cli]
        and [s["name"] for s in doc["signals"]] == [s["name"] for s in signals_cli],
        "its %d signals are the CLI's, in order" % len(signals_cli))
    sig = next((s for s in doc["signals"] if s["eventIds"]), None) if st == 200 else None

    # events: all (the default page, then its tokens), in pages of 97, of one signal, the unmapped
    def all_events(size):
        ids, token, rounds, raw_ok = [], "", 0, True
        while rounds < 1000:
            q = "?page_size=%d" % size if size else "?"
            st, doc = get_json("/api/sessions/%s/events%s%s" % (enc(key), q, "&page_token=" + enc(token) if token else ""))
            if st != 200:
                return None, rounds, False
            ids += [e["eventId"] for e in doc["events"]]
            raw_ok = raw_ok and all(isinstance(e["raw"], str) and e["raw"].startswith("{") for e in doc["events"])
            token = doc["nextPageToken"]
            rounds += 1
            if not token:
                break
        return ids, rounds, raw_ok
    all_ids, rounds0, raw_ok = all_events(0)
    say(all_ids is not None and len(all_ids) == 1000 and raw_ok,
        "events: %s with their raw records, in %d default pages" % (len(all_ids or []), rounds0))
    paged, rounds, _ = all_events(97)
    say(paged == all_ids and rounds == 11, "events in pages of 97: %d pages, the same events in order" % rounds)
    if sig:
        st, doc = get_json("/api/sessions/%s/events?signal=%s" % (enc(key), enc(sig["correlationId"])))
        say(st == 200 and sorted(e["eventId"] for e in doc["events"]) == sorted(sig["eventIds"]),
            "events of signal %s: its eventIds" % sig["correlationId"])
    st, doc = get_json("/api/sessions/%s/events?unmapped=1" % enc(key))
    say(st == 200 and all(e["signal"] is None for e in doc["events"]), "unmapped events have no signal")

    # downloads: byte for byte what the CLI prints
    st, h, b = get("/api/sessions/%s/cartographer.json" % enc(key))
    say(st == 200 and b == carto_cli, "cartographer.json = trailmap signals --format cartographer (%d bytes)" % len(b))
    say((h.get("Content-Disposition") or "").startswith("attachment; filename=\"trailmap-"), "cartographer.json is a download")
    st, h, b = get("/api/sessions/%s/events.jsonl" % enc(key))
    say(st == 200 and b == jsonl_cli, "events.jsonl = trailmap events --format jsonl (%d bytes)" % len(b))
    say((h.get("Content-Type") or "").startswith("application/x-ndjson"), "events.jsonl is ndjson")

    # not found, bad values
    for path in ["/api/nothing", "/api", "/api/sessions/x/y/z", "/nothing.html", "/index.html%00.js",
                 "/api/sessions/" + enc("no such session"), "/api/sessions/nokey/events",
                 "/api/sessions/nokey/cartographer.json"]:
        st, doc = get_json(path)
        say(is_error(st, doc, 404), "GET %s: %s" % (path, st))
    for path in ["/api/sessions?from=yesterday", "/api/sessions?to=x", "/api/sessions?page_size=lots",
                 "/api/sessions?page_size=100001", "/api/sessions/%zz", "/api/sessions/a%00",
                 "/api/sessions/%s/events?signal=a&unmapped=1" % enc(key), "/api/sessions/%s/events?page_token=garbage" % enc(key)]:
        st, doc = get_json(path)
        say(is_error(st, doc, 400), "GET %s: %s" % (path, st))

    # the Host check (DNS rebinding)
    u = urllib.parse.urlparse(base)
    for host, want in [("evil.example", 403), ("127.0.0.1.evil.example:%d" % u.port, 403), ("localhost:%d" % u.port, 200),
                       ("127.0.0.1:%d" % u.port, 200)]:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        c.putrequest("GET", "/api/health", skip_host=True)
        c.putheader("Host", host)
        c.endheaders()
        r = c.getresponse()
        r.read()
        c.close()
        say(r.status == want, "Host: %s: %d" % (host, r.status))

def auth_checks():
    good, submit = sys.argv[3], sys.argv[4]
    for token, want, what in [(None, 401, "no token"), ("", 401, "an empty token"), ("wrong-token-000", 401, "a wrong token"),
                              (good, 200, "a read token"), (submit, 200, "a submit token")]:
        st, h, b = get("/api/sessions", token)
        ok = st == want
        if want == 401:
            ok = ok and "Bearer" in (h.get("WWW-Authenticate") or "") and isinstance(json.loads(b).get("error"), str)
        say(ok, "%s: %d" % (what, st))
    st, h, b = get("/api/health", good)
    say(st == 200, "health with a read token")
    req = urllib.request.Request(base + "/api/sessions")
    req.add_header("Authorization", "Basic cmVhZGVyOng=")
    try:
        st = urllib.request.urlopen(req, timeout=30).status
    except urllib.error.HTTPError as e:
        st = e.code
    say(st == 401, "Basic auth: %d" % st)
    st, h, b = get("/")
    say(st == 200 and b"<html" in b.lower(), "the page itself needs no token")

def https_checks():
    ctx = ssl.create_default_context(cafile=sys.argv[3])
    st, h, b = get("/api/health", ctx=ctx)
    say(st == 200 and json.loads(b)["serving"], "https: health %d" % st)
    st, h, b = get("/", ctx=ctx)
    say(st == 200 and "Content-Security-Policy" in h, "https: the page with its CSP")
    try:
        get("/api/health", ctx=ssl.create_default_context())
        say(False, "https: an unknown certificate is refused by the client")
    except urllib.error.URLError:
        say(True, "https: an unknown certificate is refused by the client")

{"main": main_checks, "auth": auth_checks, "https": https_checks}[sys.argv[1]]()
sys.exit(1 if fails else 0)
PY

run_py() {
  python3 "$tmp/api.py" "$@" >"$tmp/py.out" 2>&1
  cat "$tmp/py.out"
  local n
  n=$(grep -c '^ok ' "$tmp/py.out"); pass=$((pass + n))
  n=$(grep -c '^FAIL ' "$tmp/py.out"); fail=$((fail + n))
  grep -q '^ok \|^FAIL ' "$tmp/py.out" || bad "python $1 printed no result"
}

# --- the endpoints against the CLI
port=$(free_port)
base="http://127.0.0.1:$port"
start_server "$tmp/data" --http "$base" || exit 1
check "submit the three users" "$tm" submit "$src"/tests/data/three_users_[123].json
key='corpus/96db #1 a+b:'
corpus="$src/tests/corpus/sessions/96db9634834704ac9e2c1be410bbf9a7819449043eaf6a47edd76a925515c666/InputEvents.json"
check "submit a corpus session under a key that needs escaping" "$tm" submit --session "$key" "$corpus"
"$tm" sessions --format json >"$tmp/sessions.json"
"$tm" signals "$key" --format json >"$tmp/signals.json"
"$tm" signals "$key" --format cartographer >"$tmp/carto.json"
"$tm" events "$key" --format jsonl >"$tmp/events.jsonl"
run_py main "$base" "$tmp/sessions.json" "$key" "$tmp/signals.json" "$tmp/carto.json" "$tmp/events.jsonl"
check "trailmapd stops cleanly" stop_server

# --- tokens (every endpoint reads: any role passes, none or a wrong one is 401)
printf 'reader-token-0001 read\nsubmit-token-0002 submit\n' >"$tmp/tokens"
port=$(free_port)
base="http://127.0.0.1:$port"
start_server "$tmp/data" --http "$base" --auth "$tmp/tokens" || exit 1
run_py auth "$base" reader-token-0001 submit-token-0002
check "trailmapd stops cleanly with tokens" stop_server

# --- https:// with --tls-cert and --tls-key
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 \
  -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1
port=$(free_port)
start_server "$tmp/data" --http "https://127.0.0.1:$port" --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" || exit 1
check "the log names the https address" grep -q "serving the web page on https://127.0.0.1:$port/" "$tmp/server.log"
run_py https "https://127.0.0.1:$port" "$tmp/cert.pem"
check "trailmapd stops cleanly with https" stop_server

# bad or missing PEM files: trailmapd says which and does not start
echo "not a certificate" >"$tmp/bad.pem"
start_tls() { "$tmd" --listen "tcp://127.0.0.1:$(free_port)" --http "https://127.0.0.1:$(free_port)" --data "$tmp/d2" \
  --rules "$src/rules" "$@" >"$tmp/tls.log" 2>&1; }
start_tls --tls-cert "$tmp/bad.pem" --tls-key "$tmp/key.pem"; rc=$?
check "a bad certificate: no start" test $rc -ne 0
check "a bad certificate: TLS setup failed" grep -q "TLS setup for .*failed" "$tmp/tls.log"
start_tls --tls-cert "$tmp/missing.pem" --tls-key "$tmp/key.pem"; rc=$?
check "a missing certificate: no start" test $rc -ne 0
check "a missing certificate: named" grep -q "missing.pem" "$tmp/tls.log"
"$tmd" --listen "tcp://127.0.0.1:$(free_port)" --http "https://127.0.0.1:$(free_port)" --data "$tmp/d2" \
  --rules "$src/rules" >"$tmp/tls.log" 2>&1; rc=$?
check "https without --tls-cert: no start" test $rc -ne 0
check "https without --tls-cert: says so" grep -q "needs --tls-cert and --tls-key" "$tmp/tls.log"
# a port already taken: the error names it
port=$(free_port)
start_server "$tmp/data" --http "http://127.0.0.1:$port" || exit 1
"$tmd" --listen "tcp://127.0.0.1:$(free_port)" --http "http://127.0.0.1:$port" --data "$tmp/d3" --rules "$src/rules" \
  >"$tmp/busy.log" 2>&1; rc=$?
check "a busy port: no start" test $rc -ne 0
check "a busy port: the error names the address" grep -q "cannot serve the web page on http://127.0.0.1:$port" "$tmp/busy.log"
stop_server

check "no sanitizer reports from trailmapd" bash -c "! grep -q 'Sanitizer\|runtime error' '$tmp/server.log'"
finish
