#!/usr/bin/env python3
"""make_seeds.py: (re)builds the fuzz harnesses' seed corpora and the rules
subset of fuzz_rules from the project's own data.

    python3 tests/fuzz/make_seeds.py          # from the repository root

Writes tests/fuzz/corpus/<harness>/ (deterministic file names and bytes, so
a rerun on unchanged data changes nothing) and tests/fuzz/rules-subset/.
Sources: tests/data (full CloudTrail records of three users), tests/corpus
(minimized sessions), rules/ (rule files, their templates, predicates and
pipelines).  RpcRequest messages are encoded by hand (protobuf wire format:
no protobuf module needed).  Keep the total small (a few hundred KB).
"""
import copy
import glob
import gzip
import hashlib
import io
import json
import os
import shutil
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FUZZ = os.path.join(ROOT, "tests", "fuzz")
CORPUS = os.path.join(FUZZ, "corpus")


def out_dir(harness):
    d = os.path.join(CORPUS, harness)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def put(d, name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gz(data):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as g:
        g.write(data.encode() if isinstance(data, str) else data)
    return buf.getvalue()


def compact(v):
    return json.dumps(v, separators=(",", ":"))


def records():
    """The full records of tests/data, plus a few identities they lack."""
    recs = []
    for i in (1, 2, 3):
        with open(os.path.join(ROOT, "tests", "data", "three_users_%d.json" % i)) as f:
            recs.append(json.load(f)["Records"])
    return recs


def variants(r):
    """The same record as root, as an AWS service, with a long-term key,
    and minimized (no userIdentity): the session kinds of session.h."""
    out = []
    root = copy.deepcopy(r)
    root["userIdentity"] = {"type": "Root", "principalId": "111122223333",
                            "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333",
                            "accessKeyId": "ASIARQ7EXAMPLEROOT01",
                            "sessionContext": {"attributes": {"creationDate": "2023-12-04T20:27:07Z",
                                                              "mfaAuthenticated": "true"}}}
    out.append(root)
    svc = copy.deepcopy(r)
    svc["userIdentity"] = {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}
    out.append(svc)
    akia = copy.deepcopy(r)
    akia["userIdentity"]["accessKeyId"] = "AKIARQ7EXAMPLECLI001"
    akia["userAgent"] = "aws-cli/2.13.0 Python/3.11.4 Linux/5.15 exe/x86_64.debian.12 prompt/off command/ec2.describe-vpcs"
    out.append(akia)
    mini = copy.deepcopy(r)
    mini.pop("userIdentity", None)
    out.append(mini)
    return out


# ------------------------------------------------------------ fuzz_input

def seeds_input(recs):
    d = out_dir("fuzz_input")
    a, b, c = recs
    few = a[:4] + b[:2] + c[:2]
    put(d, "records.json", compact({"Records": few}))
    put(d, "records_pretty.json", json.dumps({"Records": a[:2]}, indent=2))
    put(d, "lookup_events.json", json.dumps({"Events": [
        {"EventId": r.get("eventID", ""), "EventName": r["eventName"], "ReadOnly": "true",
         "EventTime": r["eventTime"], "EventSource": r["eventSource"], "CloudTrailEvent": compact(r)}
        for r in b[:3]]}, indent=4))
    put(d, "array.json", compact(c[:4]))
    put(d, "single.json", compact(a[0]))
    put(d, "lines.jsonl", "\n".join(compact(r) for r in b[2:7]) + "\n")
    put(d, "lines_crlf.jsonl", "\r\n".join(compact(r) for r in c[2:5]))
    put(d, "records.json.gz", gz(compact({"Records": a[4:10]})))
    put(d, "lines.jsonl.gz", gz("\n".join(compact(r) for r in c[5:9])))
    put(d, "bad_record.json", compact({"Records": [a[0], {"eventName": "X"}, 5, c[0]]}))
    put(d, "identities.json", compact({"Records": variants(a[1])}))
    put(d, "empty_records.json", '{"Records":[]}')
    # minimized corpus sessions: the first events of a few of them
    sess = sorted(glob.glob(os.path.join(ROOT, "tests", "corpus", "sessions", "*", "InputEvents.json")))
    for i, p in enumerate(sess[:4]):
        with open(p) as f:
            evs = json.load(f)
        put(d, "corpus_%d.json" % i, compact(evs[:6]))


# ------------------------------------------------------------ fuzz_event

def seeds_event(recs):
    d = out_dir("fuzz_event")
    seen = set()
    n = 0
    allrecs = [r for rs in recs for r in rs]
    for r in allrecs:
        k = (r["eventSource"], r["eventName"], r.get("userIdentity", {}).get("type"))
        if k in seen:
            continue
        seen.add(k)
        put(d, "rec_%03d.json" % n, compact(r))
        n += 1
    for i, r in enumerate(variants(allrecs[0]) + variants(recs[1][0])):
        put(d, "kind_%02d.json" % i, compact(r))
    # minimized corpus events (no userIdentity), distinct names
    for p in sorted(glob.glob(os.path.join(ROOT, "tests", "corpus", "sessions", "*", "InputEvents.json")))[:6]:
        with open(p) as f:
            evs = json.load(f)
        for e in evs:
            k = (e.get("eventSource"), e.get("eventName"), None)
            if k in seen or n >= 120:
                continue
            seen.add(k)
            put(d, "rec_%03d.json" % n, compact(e))
            n += 1


# ------------------------------------------------------------ rules subset

def load_rules():
    files = {}
    for p in sorted(glob.glob(os.path.join(ROOT, "rules", "**", "*.json"), recursive=True)):
        rel = os.path.relpath(p, os.path.join(ROOT, "rules"))
        with open(p) as f:
            files[rel] = json.load(f)
    return files


def label_refs(node):
    """Every label an object of a labels/ file emits (emit lists, nested)."""
    out = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "emit" and isinstance(v, list):
                out.update(x for x in v if isinstance(x, str))
            else:
                out |= label_refs(v)
    elif isinstance(node, list):
        for v in node:
            out |= label_refs(v)
    return out


def ctx_labels(node):
    """Labels an override names (label, to, current_in, prev_label, and
    label/label_in atoms of its conditions)."""
    out = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("label", "to", "prev_label") and isinstance(v, str):
                out.add(v)
            elif k in ("current_in", "label_in") and isinstance(v, list):
                out.update(v)
            else:
                out |= ctx_labels(v)
    elif isinstance(node, list):
        for v in node:
            out |= ctx_labels(v)
    return out


# The signal files kept: the small ones, so that one load of the whole
# subset stays fast under ASan (the full rules take ~100 ms a load).
SUBSET_SIGNALS = ["signals/cloudshell.json", "signals/console.json", "signals/generic.json",
                  "signals/guardduty.json", "signals/kms.json", "signals/secretsmanager.json",
                  "signals/suppress.json", "signals/ec2_images.json"]


def rules_subset(files):
    """A closed subset of the real rules: the signal files above (minus
    definitions extending a label left out), every label rule whose labels
    they define, the overrides and user-agent prepends that name only those
    labels.  Entries are the real ones, unchanged."""
    sigs = {p: copy.deepcopy(files[p]) for p in SUBSET_SIGNALS}
    while True:
        defined = {s["label"] for f in sigs.values() for s in f["signals"]}
        changed = False
        for f in sigs.values():
            keep = [s for s in f["signals"] if not s.get("extends") or s["extends"] in defined]
            if len(keep) != len(f["signals"]):
                f["signals"] = keep
                changed = True
        if not changed:
            break
    out = dict(sigs)
    for p, f in files.items():
        if p.startswith("labels/"):
            evs = [e for e in f["events"] if label_refs(e) <= defined]
            if evs:
                g = copy.deepcopy(f)
                g["events"] = evs
                out[p] = g
    ov = copy.deepcopy(files["overrides.json"])
    ov["overrides"] = [o for o in ov["overrides"] if ctx_labels(o) <= defined]
    out["overrides.json"] = ov
    ua = copy.deepcopy(files["useragent.json"])
    if "prepend" in ua:
        ua["prepend"] = {k: v for k, v in ua["prepend"].items() if set(v) <= defined}
    out["useragent.json"] = ua
    return out


def write_subset(sub):
    d = os.path.join(FUZZ, "rules-subset")
    shutil.rmtree(d, ignore_errors=True)
    for rel, doc in sorted(sub.items()):
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(json.dumps(doc, indent=1) + "\n")
    with open(os.path.join(d, "NOTE"), "w") as f:
        f.write("Generated by tests/fuzz/make_seeds.py from rules/: a closed subset of the real rules\n"
                "that fuzz_rules loads (fast enough to fuzz). Do not edit; rerun the script.\n")


def seeds_rules(sub):
    d = out_dir("fuzz_rules")
    # fuzz_rules picks the replaced file by the first byte, an index into
    # the subset's .json files in byte order of their paths
    paths = sorted(sub)
    for i, rel in enumerate(paths):
        put(d, "%02d_%s" % (i, rel.replace("/", "_")), bytes([i]) + json.dumps(sub[rel], indent=1).encode())


# ------------------------------------------------------------ fuzz_lang

def walk(node, fn):
    fn(node)
    if isinstance(node, dict):
        for v in node.values():
            walk(v, fn)
    elif isinstance(node, list):
        for v in node:
            walk(v, fn)


def seeds_lang(files):
    """Byte 0 picks the language (fuzz_lang.c): 0 template, 1 predicate,
    2 pipeline; the rest is the text."""
    d = out_dir("fuzz_lang")
    tmpls, preds, pipes = set(), set(), set()
    for rel, doc in files.items():
        if rel.startswith("signals/"):
            for s in doc["signals"]:
                for k in ("url", "summary"):
                    if isinstance(s.get(k), str) and "{{" in s[k]:
                        tmpls.add(s[k])
                for v in (s.get("vars") or {}).values():
                    # {"steps": [...], "shape": S} is the rule file's form; the steps are the pipeline
                    pipes.add(compact(v["steps"] if isinstance(v, dict) else v))

        def grab(n):
            if isinstance(n, dict):
                if isinstance(n.get("when"), dict):
                    preds.add(compact(n["when"]))
                if isinstance(n.get("filter"), dict):
                    preds.add(compact(n["filter"]))
                if isinstance(n.get("anchor"), dict):
                    preds.add(compact(n["anchor"]))
        walk(doc, grab)

    def pick(items, limit):
        # distinct, shortest-first, then spread: small seeds mutate fastest
        items = sorted(items, key=lambda s: (len(s), s))
        if len(items) <= limit:
            return items
        step = len(items) / limit
        return [items[int(i * step)] for i in range(limit)]

    for i, t in enumerate(pick(tmpls, 60)):
        put(d, "tmpl_%02d" % i, b"\x00" + t.encode())
    for i, p in enumerate(pick(preds, 80)):
        put(d, "pred_%02d" % i, b"\x01" + p.encode())
    for i, p in enumerate(pick(pipes, 80)):
        put(d, "pipe_%02d" % i, b"\x02" + p.encode())


# ------------------------------------------------------------ fuzz_rpc

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, value):
    """A protobuf field: bytes/str as length-delimited, int as varint."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return varint(num << 3) + varint(value if value >= 0 else value + (1 << 64))
    if isinstance(value, str):
        value = value.encode()
    return varint((num << 3) | 2) + varint(len(value)) + value


def msg(*fields):
    return b"".join(field(n, v) for n, v in fields if v is not None)


def rpc(method, payload=b"", token="", rid=1):
    return msg((1, method), (2, rid), (3, token) if token else (3, None), (4, payload) if payload else (4, None))


def seeds_rpc(recs):
    """Tokens known to fuzz_rpc.c: readtoken123 (read), submittoken1
    (submit), admintoken99 (admin)."""
    d = out_dir("fuzz_rpc")
    a, b, c = recs
    sub = msg(*[(1, compact(r)) for r in a[:3]])
    put(d, "submit_records", rpc("SubmitEvents", sub, "submittoken1"))
    put(d, "submit_forced", rpc("SubmitEvents", msg((1, compact(b[0])), (1, compact(b[1])), (3, "s1")),
                                "submittoken1", 2))
    doc = msg((1, "upload.json.gz"), (2, gz(compact({"Records": c[:3]}))))
    put(d, "submit_document", rpc("SubmitEvents", msg((2, doc)), "admintoken99", 3))
    put(d, "submit_bad", rpc("SubmitEvents", msg((1, "{not json"), (1, '{"eventName":"X"}')), "submittoken1", 4))
    put(d, "submit_readonly", rpc("SubmitEvents", sub, "readtoken123", 5))
    put(d, "list_sessions", rpc("ListSessions", msg((1, "alice"), (4, 10)), "readtoken123", 6))
    put(d, "list_sessions_range", rpc("ListSessions", msg((2, 1701720000000), (3, 1701730000000), (5, "10")),
                                      "readtoken123", 7))
    put(d, "get_session", rpc("GetSession", msg((1, "s1")), "readtoken123", 8))
    put(d, "get_session_none", rpc("GetSession", msg((1, "nope")), "readtoken123", 9))
    put(d, "get_events_all", rpc("GetEvents", msg((1, "s1"), (2, True), (5, 2)), "readtoken123", 10))
    put(d, "get_events_unmapped", rpc("GetEvents", msg((1, "s1"), (4, True)), "readtoken123", 11))
    put(d, "get_events_signal", rpc("GetEvents", msg((1, "s1"), (3, "sig-1"), (6, "1")), "readtoken123", 12))
    put(d, "get_stats", rpc("GetStats", b"", "readtoken123", 13))
    put(d, "health", rpc("Health", b"", "readtoken123", 14))
    put(d, "health_noauth", rpc("Health", b"", "", 15))
    put(d, "health_badtoken", rpc("Health", b"", "guessing", 16))
    put(d, "list_rules", rpc("ListRules", msg((1, "IAM")), "readtoken123", 17))
    put(d, "reload_rules", rpc("ReloadRules", b"", "admintoken99", 18))
    vfiles = [("useragent.json", '{"families":[],"default":"Undefined"}'),
              ("overrides.json", '{"overrides":[]}'),
              ("signals/x.json", '{"signals":[{"label":"X_Y","service":"X","name":"n","url":"N/A",'
                                 '"anchor":["x:Y"],"required":["x:Y"],"summary":"s {{awsRegion}}"}]}'),
              ("labels/x.json", '{"events":[{"event":"x:Y","emit":["X_Y"]}]}')]
    put(d, "validate_rules", rpc("ValidateRules", msg(*[(1, msg((1, p), (2, t))) for p, t in vfiles]),
                                 "admintoken99", 19))
    put(d, "unknown_method", rpc("DropAllTables", b"", "admintoken99", 20))
    put(d, "bad_payload", rpc("GetSession", b"\xff\xff\xff\x01", "readtoken123", 21))


# ------------------------------------------------------------ fuzz_http

def seeds_http(recs):
    """One request per seed, as fuzz_http.c reads it: a line of NUL-free
    fields separated by \\n: method, target, Host, Authorization, then the
    body length as decimal (see fuzz_http.c)."""
    d = out_dir("fuzz_http")
    import urllib.parse
    # fuzz_http stores three_users_1 in session "s1" and three_users_2 in
    # its derived sessions: bob's is "<arn>#<creationDate>"; a signal's id is
    # its first event's eventID
    ui = recs[1][0]["userIdentity"]
    bob = urllib.parse.quote(ui["arn"] + "#" + ui["sessionContext"]["attributes"]["creationDate"], safe="")
    first = min(recs[0], key=lambda r: (r["eventTime"], r["eventID"]))["eventID"]
    reqs = [
        ("GET", "/api/sessions/" + bob, "127.0.0.1:7471", "Bearer admintoken99"),
        ("GET", "/api/sessions/" + bob + "/events?all=1&page_size=3", "localhost:7471", "Bearer submittoken1"),
        ("GET", "/api/sessions/s1/events?signal=" + first, "127.0.0.1:7471", "Bearer readtoken123"),
        ("GET", "/", "127.0.0.1:7471", ""),
        ("GET", "/index.html", "localhost:7471", ""),
        ("GET", "/app.js", "127.0.0.1", ""),
        ("GET", "/style.css", "[::1]:7471", ""),
        ("HEAD", "/favicon.svg", "127.0.0.1:7471", ""),
        ("GET", "/api/health", "127.0.0.1:7471", "Bearer readtoken123"),
        ("GET", "/api/sessions?principal=alice&from=1701720000000&to=1701730000000&page_size=10",
         "127.0.0.1:7471", "Bearer readtoken123"),
        ("GET", "/api/sessions?page_token=10", "127.0.0.1:7471", "Bearer readtoken123"),
        ("GET", "/api/sessions/s1", "127.0.0.1:7471", "Bearer readtoken123"),
        ("GET", "/api/sessions/arn%3Aaws%3Aiam%3A%3A111122223333%3Auser%2Falice%232023-12-04T20%3A27%3A07Z",
         "127.0.0.1:7471", "Bearer readtoken123"),
        ("GET", "/api/sessions/s1/events?signal=sig-1&page_size=5", "127.0.0.1:7471", "Bearer readtoken123"),
        ("GET", "/api/sessions/s1/events?unmapped=1&page_token=2", "127.0.0.1:7471", "Bearer readtoken123"),
        ("GET", "/api/sessions/s1/cartographer.json", "127.0.0.1:7471", "Bearer readtoken123"),
        ("GET", "/api/sessions/s1/events.jsonl", "127.0.0.1:7471", "Bearer readtoken123"),
        ("GET", "/api/health", "evil.example", "Bearer readtoken123"),
        ("GET", "http://evil.example/api/health", "127.0.0.1:7471", ""),
        ("GET", "http://127.0.0.1:7471/api/health", "127.0.0.1:7471", "Bearer readtoken123"),
        ("GET", "/aaaa%41", "127.0.0.1:7471", ""),
        ("GET", "/index.html%00.js", "127.0.0.1:7471", ""),
        ("GET", "/api/sessions/%", "127.0.0.1:7471", "Bearer guessing"),
        ("GET", "/api/sessions/%4", "127.0.0.1:7471", "Basic dXNlcjpwYXNz"),
        ("POST", "/api/health", "127.0.0.1:7471", ""),
        ("GET", "/api/nope", "127.0.0.1:7471", "Bearer readtoken123"),
    ]
    for i, (m, t, h, a) in enumerate(reqs):
        body = "5" if m == "POST" else "0"
        put(d, "req_%02d" % i, "\n".join([m, t, h, a, body]))


def main():
    recs = records()
    files = load_rules()
    seeds_input(recs)
    seeds_event(recs)
    sub = rules_subset(files)
    write_subset(sub)
    seeds_rules(sub)
    seeds_lang(files)
    seeds_rpc(recs)
    seeds_http(recs)
    total = 0
    for dp, _, fs in os.walk(CORPUS):
        total += sum(os.path.getsize(os.path.join(dp, f)) for f in fs)
    print("seed corpora: %d KB" % (total // 1024), file=sys.stderr)


if __name__ == "__main__":
    main()
