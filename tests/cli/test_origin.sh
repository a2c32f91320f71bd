#!/usr/bin/env bash
# Console or API, and trailmap's own signals, on real public trails
# (tests/realdata): API calls are never shown as clicks, every console write
# and every sign-in is a signal, and the cartographer format stays the
# reference's unless --additions asks for more.
source "$(dirname "$0")/../check.sh"
export TRAILMAP_RULES="$src/rules"
rd="$src/tests/realdata"
jq_py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "$2"; }

# the issue's findings, over every real file
python3 "$rd/check.py" "$tm" >"$tmp/check" 2>&1
check "realdata: no API call shown as a click, every console write and sign-in a signal, one principal per session" test $? -eq 0
grep -v ': 0 finding' "$tmp/check" >&2

# 20 GetSecretValue calls of an attack tool with a long-term key: one API signal, no click
f="$rd/stratus/aws.credential-access.secretsmanager-retrieve-secrets.json"
"$tm" map --format json "$f" >"$tmp/sm.json"
check "stratus secrets: no Clicked signal" jq_py 'sys.exit(any(g["name"].startswith("Clicked") for s in d["sessions"] for g in s["signals"]))' "$tmp/sm.json"
check "stratus secrets: one api signal of 20 calls, named with the call and client" jq_py '
g=[g for s in d["sessions"] for g in s["signals"] if g.get("kind")=="api" and "GetSecretValue" in g["name"]]
sys.exit(not (len(g)==1 and g[0]["eventCount"]==20 and g[0]["name"]=="Called secretsmanager:GetSecretValue 20 times with Stratus Red Team"))' "$tmp/sm.json"
"$tm" map --format cartographer "$f" >"$tmp/sm.carto"
check "cartographer: the reference's signals only (none here)" jq_py 'sys.exit(len(d)!=0)' "$tmp/sm.carto"
"$tm" map --format cartographer --additions "$f" >"$tmp/sm.carto2"
check "cartographer --additions: the api signals too" jq_py 'sys.exit(sorted(v["Name"] for v in d.values())!=["Called secretsmanager:GetSecretValue 20 times with Stratus Red Team","Called secretsmanager:ListSecrets once with Stratus Red Team"])' "$tmp/sm.carto2"

# failed console logins and other sign-in events of the user guide: signals of their own
"$tm" map --format json "$rd/awsdocs/cloudtrail-event-reference-aws-console-sign-in-events.json" >"$tmp/si.json" 2>/dev/null
check "user guide: a failed ConsoleLogin is a sign-in signal" jq_py '
sys.exit(not any(g.get("kind")=="signin" and g["name"]=="Sign-in: ConsoleLogin (Failure)" for s in d["sessions"] for g in s["signals"]))' "$tmp/si.json"
check "user guide: PasswordUpdated is a sign-in signal" jq_py '
sys.exit(not any(g.get("kind")=="signin" and g["name"]=="Sign-in: PasswordUpdated" for s in d["sessions"] for g in s["signals"]))' "$tmp/si.json"

# a console write no rule explains is named with its target; writes stay ahead of reads in the table
python3 - "$tmp/w.json" <<'PY'
import json, sys
base = {"eventVersion": "1.08", "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::111122223333:user/alice",
        "accountId": "111122223333", "accessKeyId": "ASIAEXAMPLE", "userName": "alice",
        "sessionContext": {"attributes": {"creationDate": "2024-05-01T10:00:00Z", "mfaAuthenticated": "true"}}},
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": "AWS Internal",
        "eventType": "AwsApiCall", "sessionCredentialFromConsole": "true", "recipientAccountId": "111122223333"}
recs = []
def add(i, t, src, name, ro, rp):
    r = dict(base); r.update({"eventID": f"00000000-0000-0000-0000-00000000000{i}", "eventTime": t, "eventSource": src,
                              "eventName": name, "readOnly": ro, "requestParameters": rp})
    recs.append(r)
add(1, "2024-05-01T10:05:00Z", "rds.amazonaws.com", "DeleteDBInstance", False, {"dBInstanceIdentifier": "db-prod-1", "skipFinalSnapshot": True})
add(2, "2024-05-01T10:06:00Z", "ec2.amazonaws.com", "ReleaseAddress", False, {"allocationId": "eipalloc-0abc"})
add(3, "2024-05-01T10:07:00Z", "frobnicator.amazonaws.com", "DescribeWidgets", True, {})
json.dump({"Records": recs}, open(sys.argv[1], "w"))
PY
"$tm" map --format json "$tmp/w.json" >"$tmp/w.out"
check "console write: rds:DeleteDBInstance (db-prod-1) is an action signal" jq_py '
sys.exit(not any(g.get("kind")=="action" and g["name"]=="Console action: rds:DeleteDBInstance (db-prod-1)" for s in d["sessions"] for g in s["signals"]))' "$tmp/w.out"
check "console write: ec2:ReleaseAddress (eipalloc-0abc) is an action signal" jq_py '
sys.exit(not any(g.get("kind")=="action" and g["name"]=="Console action: ec2:ReleaseAddress (eipalloc-0abc)" for s in d["sessions"] for g in s["signals"]))' "$tmp/w.out"
check "a read no rule explains stays unmapped" jq_py '
sys.exit([u["eventName"] for s in d["sessions"] for u in s["unmappedEvents"]]!=["frobnicator:DescribeWidgets"])' "$tmp/w.out"
python3 - "$tmp/w.json" "$tmp/w2.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["Records"] = [dict(r, eventSource="frobnicator.amazonaws.com", eventName="DeleteWidget") if r["eventID"].endswith("1") else r for r in d["Records"]]
json.dump(d, open(sys.argv[2], "w"))
PY
cp -r "$src/rules" "$tmp/rules"
python3 - "$tmp/rules/signals/trailmap.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["signals"] = [s for s in d["signals"] if s.get("kind") != "action"]
json.dump(d, open(sys.argv[1], "w"), indent=1)
PY
"$tm" map --format table --no-color --rules "$tmp/rules" "$tmp/w2.json" >"$tmp/w2.table"
check "table: unmapped writes on their own line, ahead of reads" python3 - "$tmp/w2.table" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
w = [i for i, l in enumerate(lines) if l.startswith("Unmapped writes:")]
r = [i for i, l in enumerate(lines) if l.startswith("Unmapped:")]
sys.exit(not (w and r and w[0] < r[0] and "frobnicator:DeleteWidget" in lines[w[0]] and "frobnicator:DescribeWidgets" in lines[r[0]]
              and "DescribeWidgets" not in lines[w[0]]))
PY

# records without the evidence (the compatibility corpus) keep the reference's behaviour
s="$src/tests/corpus/sessions/01b11411976e0d80d2528881b018fc020d44a2620b901f89c31f65f506e94e44/InputEvents.json"
"$tm" map --format json "$s" >"$tmp/c.json"
check "corpus session: no api or action signals" jq_py 'sys.exit(any(g.get("kind") in ("api","action") for s in d["sessions"] for g in s["signals"]))' "$tmp/c.json"

# a bad origin.json is reported with file:line:column
printf '{\n  "console": [],\n  "bogus": 1\n}\n' >"$tmp/rules/origin.json"
"$build/trailmap-admin" validate "$tmp/rules" >"$tmp/v.out" 2>&1; rc=$?
check "bad origin.json: validate exits 1" test $rc -eq 1
check "bad origin.json: names file:line:column" grep -q 'origin.json:3:[0-9]*: unknown member "bogus"' "$tmp/v.out"

finish
