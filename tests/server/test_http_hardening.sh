#!/usr/bin/env bash
# The web listener against hostile clients (libmicrohttpd; see server/http.c
# and server/http_route.h):
#   - the request that crashed nng 1.5.2's HTTP server (a path ending in a
#     %-escape, growing lengths), broken escapes, NUL bytes, oversize
#     targets and headers, absolute-form targets, methods and bodies: each
#     gets an HTTP answer with the right status, and the server lives on;
#   - slow clients: 100 connections that send half a request line and stop
#     do not keep a normal request from being answered, and the server
#     closes them after --http-timeout;
#   - a flood: 200 connections x 3 requests at once all get an answer (200
#     or 503), also with a connection cap far below the flood;
#   - off loopback, one client address holds at most a quarter of the cap.
# Nothing here passes or fails on a time measurement: waits have generous
# bounds and only check that something happens at all.
source "$(dirname "$0")/lib.sh"

cat >"$tmp/h.py" <<'PY'
import select, socket, sys, threading, time, urllib.request

port = int(sys.argv[2])
fails = 0

def say(ok, what):
    global fails
    if not ok:
        fails += 1
    print(("ok   " if ok else "FAIL ") + what, flush=True)

def raw(req, timeout=20):
    """Sends bytes on a new connection; the whole answer (the server closes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(req)
        data = b""
        while True:
            try:
                c = s.recv(65536)
            except ConnectionResetError:
                break
            if not c:
                break
            data += c
        return data
    finally:
        s.close()

def status(data):
    if not data.startswith(b"HTTP/1.") or len(data) < 12:
        return None
    return int(data[9:12])

def get(target, host=b"127.0.0.1", extra=b""):
    return raw(b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n" + extra + b"\r\n")

def crash():
    # the nng 1.5.2 crash: GET /aaaa...%41 of growing length
    bad = []
    for i in range(300):
        n = 1 + i * 20  # up to ~6 KB: past the 4 KiB target limit too
        st = status(get(b"/" + b"a" * n + b"%41"))
        want = 404 if n + 4 <= 4096 else 414
        if st != want:
            bad.append((n, st))
    say(not bad, "300 GET /a...a%%41 of growing length answered 404/414 %s" % bad[:5])
    # broken and odd escapes at the end, inside and outside /api/
    bad = []
    count = 0
    for prefix in [b"/", b"/api/", b"/api/sessions/", b"/api/sessions/k/events?signal=", b"/app.js"]:
        for end in [b"%41", b"%", b"%4", b"%%", b"%00", b"%zz", b"%g", b"%%41"]:
            for n in [0, 1, 7, 100, 4000, 5000]:
                count += 1
                st = status(get(prefix + b"a" * n + end))
                if st not in (200, 400, 404, 414):
                    bad.append((prefix, end, n, st))
    say(not bad, "%d targets ending in odd escapes answered 400/404/414 %s" % (count, bad[:5]))
    # particular answers
    cases = [
        (b"/index.html%00.js", 404), (b"/index.html%00", 404), (b"/index.html/", 404), (b"/app.js%41", 404),
        (b"/api/sessions/a%00b", 400), (b"/api/sessions/abc%", 400), (b"/api/sessions/abc%4", 400),
        (b"/api/sessions/%zz", 400), (b"/api/sessions?page_size=%", 400),
        (b"http://evil.example/api/health", 403), (b"http://evil.example/", 403),
        (b"http://127.0.0.1.evil.example/api/health", 403), (b"http://127.0.0.1/api/health", 200),
        (b"http://localhost:1/index.html", 200), (b"*", 400), (b"/" + b"b" * 5000, 414),
    ]
    for target, want in cases:
        st = status(get(target))
        say(st == want, "GET %s: %s (want %d)" % (target[:50].decode(), st, want))
    say(status(get(b"/api/health", host=b"evil.example")) == 403, "Host: evil.example: 403")
    say(status(get(b"/", host=b"127.0.0.1:7471")) == 200, "Host with a port: 200")
    # a raw NUL byte in the target: never index.html
    st = status(raw(b"GET /index.html\x00.js HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"))
    say(st in (400, 404), "raw NUL in the target: %s, not index.html" % st)
    st = status(raw(b"GET /\x00 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"))
    say(st in (400, 404), "raw NUL after /: %s" % st)
    # oversize request line and headers
    st = status(raw(b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
    say(st in (414, 431), "100 KB request line: %s" % st)
    st = status(get(b"/", extra=b"X-Big: " + b"x" * 100000 + b"\r\n"))
    say(st == 431, "100 KB header: %s" % st)
    st = status(get(b"/", extra=b"X-A: b\r\n" * 20000))
    say(st == 431, "20000 headers: %s" % st)
    # methods and bodies
    d = raw(b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    say(status(d) == 200 and d.endswith(b"\r\n\r\n"), "HEAD /: 200 without a body")
    d = raw(b"POST /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
    say(status(d) == 405 and b"Allow: GET, HEAD" in d, "POST: 405 with Allow")
    for m in [b"PUT", b"DELETE", b"OPTIONS", b"TRACE", b"CONNECT", b"BREW"]:
        say(status(raw(m + b" / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")) == 405, "%s: 405" % m.decode())
    d = raw(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
    say(status(d) == 413, "GET with a body: %s" % status(d))
    d = raw(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    say(status(d) == 413, "GET with a chunked body: %s" % status(d))
    # garbage: any answer or a close, never a crash (checked by the caller)
    for junk in [b"\r\n\r\n", b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x00\x01\x02\r\n\r\n",
                 b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
                 b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
                 b"GET / HTTP/1.1\r\n: nothing\r\n\r\n", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n no colon\r\n\r\n"]:
        raw(junk)
    say(True, "garbage requests sent")

def slow():
    # 100 clients send half a request line and stop
    socks = []
    for _ in range(100):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"GET /api/hea")
        socks.append(s)
    # a normal request is still answered (a bound, not a measurement)
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/api/health" % port, timeout=10) as r:
            ok = r.status == 200
    except Exception as e:
        ok = False
        print("   ", e)
    say(ok, "a request is answered while 100 slow clients are connected")
    # the server closes them after its timeout: recv sees EOF, not our 30 s timeout
    closed = 0
    for s in socks:
        try:
            while s.recv(1024):  # an answer, if any, then EOF
                pass
            closed += 1
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed += 1
        s.close()
    say(closed == 100, "the server closed %d of 100 stalled connections" % closed)
    # an idle keep-alive connection is closed too
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    first = s.recv(65536)
    rest = b"x"
    try:
        while rest:
            rest = s.recv(65536)
        eof = True
    except socket.timeout:
        eof = False
    except ConnectionResetError:
        eof = True
    s.close()
    say(status(first) == 200 and eof, "an idle keep-alive connection is closed after the timeout")

def flood(conns, per):
    results = []
    lock = threading.Lock()
    targets = [b"/api/health", b"/", b"/api/sessions", b"/app.js"]
    def worker(k):
        got = []
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=60)
            f = s.makefile("rb")
            for i in range(per):
                t = targets[(k + i) % len(targets)]
                last = i == per - 1
                s.sendall(b"GET " + t + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (b"Connection: close\r\n" if last else b"") + b"\r\n")
                line = f.readline()
                st = int(line[9:12]) if line.startswith(b"HTTP/1.") else None
                length = 0
                while True:
                    h = f.readline()
                    if h in (b"\r\n", b""):
                        break
                    if h.lower().startswith(b"content-length:"):
                        length = int(h.split(b":")[1])
                f.read(length)
                got.append(st)
                if st not in (200, 503):
                    break
            s.close()
        except Exception as e:
            got.append(repr(e))
        with lock:
            results.extend(got + [None] * (per - len(got)))
    th = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    counts = {}
    for r in results:
        counts[r] = counts.get(r, 0) + 1
    ok = len(results) == conns * per and all(r in (200, 503) for r in results)
    say(ok, "flood of %d connections x %d requests: %s" % (conns, per, counts))

def per_ip(n, limit):
    # off loopback one address holds at most a quarter of the connections:
    # the ones past it are closed at once (the timeout is far away)
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /api/hea")
        socks.append(s)
    # wait (5 s at most) until the expected number are closed, then count
    closed = set()
    deadline = time.time() + 5
    while len(closed) < n - limit and time.time() < deadline:
        ready, _, _ = select.select([s for s in socks if s not in closed], [], [], 0.2)
        for s in ready:
            try:
                if s.recv(1024) == b"":
                    closed.add(s)
            except ConnectionResetError:
                closed.add(s)
    # and none of the others was (those already closed are readable now)
    ready, _, _ = select.select([s for s in socks if s not in closed], [], [], 0)
    for s in ready:
        try:
            if s.recv(1024) == b"":
                closed.add(s)
        except ConnectionResetError:
            closed.add(s)
    for s in socks:
        s.close()
    closed = len(closed)
    say(closed == n - limit, "%d connections from one address with %d allowed: %d closed" % (n, limit, closed))

what = sys.argv[1]
if what == "crash":
    crash()
elif what == "slow":
    slow()
elif what == "per_ip":
    per_ip(int(sys.argv[3]), int(sys.argv[4]))
elif what == "flood":
    flood(int(sys.argv[3]), int(sys.argv[4]))
sys.exit(1 if fails else 0)
PY

# run_py WHAT ARGS...: the python checks; each "ok"/"FAIL" line counts once
run_py() {
  python3 "$tmp/h.py" "$@" >"$tmp/py.out" 2>&1
  cat "$tmp/py.out"
  local n
  n=$(grep -c '^ok ' "$tmp/py.out"); pass=$((pass + n))
  n=$(grep -c '^FAIL ' "$tmp/py.out"); fail=$((fail + n))
  grep -q '^ok \|^FAIL ' "$tmp/py.out" || bad "python $1 printed no result"
}
alive() {
  kill -0 "$server_pid" 2>/dev/null &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/health")" = 200 ] &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")" = 200 ]
}

port=$(free_port)
start_server "$tmp/data" --http "http://127.0.0.1:$port" --http-timeout 3 || exit 1
check "the log names the page's address" grep -q "serving the web page on http://127.0.0.1:$port/" "$tmp/server.log"

run_py crash "$port"
check "alive after the crash requests: /api/health and / answer 200" alive

run_py slow "$port"
check "alive after the slow clients" alive

run_py flood "$port" 200 3
check "alive after the flood" alive
check "trailmapd stops cleanly" stop_server
check "the listener said all requests were answered" grep -q "closed, all requests answered" "$tmp/server.log"

# a connection cap far below the flood: the rest wait for a free slot
port=$(free_port)
start_server "$tmp/data" --http "http://127.0.0.1:$port" --http-max-connections 8 || exit 1
run_py flood "$port" 100 2
check "alive after the flood with 8 connections at most" alive
check "trailmapd stops cleanly (capped)" stop_server

# off loopback (with --auth): a quarter of the connections per client address
printf 'reader-token-0001 read\n' >"$tmp/tokens"
port=$(free_port)
start_server "$tmp/data" --http "http://0.0.0.0:$port" --auth "$tmp/tokens" --http-max-connections 40 \
  --http-timeout 60 || exit 1
check "the log names the per-address limit" grep -q "10 per client address" "$tmp/server.log"
run_py per_ip "$port" 15 10
check "a request after the slow clients left" test "$(curl -s -o /dev/null -w '%{http_code}' \
  -H 'Authorization: Bearer reader-token-0001' "http://127.0.0.1:$port/api/health")" = 200
check "trailmapd stops cleanly (off loopback)" stop_server

check "no sanitizer reports from trailmapd" bash -c "! grep -q 'Sanitizer\|runtime error' '$tmp/server.log'"
finish
