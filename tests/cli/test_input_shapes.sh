#!/usr/bin/env bash
# The export shapes real users have (issue 11): every record of each is
# read, one undecodable record costs only itself, plain text is one short
# error, sanitized ids keep distinct events, and event text cannot drive
# the terminal.
source "$(dirname "$0")/../check.sh"
export TRAILMAP_RULES="$src/rules"
rd="$src/tests/realdata"
events_in() { "$tm" map --format json "$1" 2>"$tmp/err" | python3 -c 'import json,sys; print(sum(s["events"] for s in json.load(sys.stdin)["sessions"]))'; }

base="$rd/stratus/aws.credential-access.secretsmanager-retrieve-secrets.json"   # 21 records
python3 - "$base" "$tmp" <<'PY'
import json, sys
recs = json.load(open(sys.argv[1])); out = sys.argv[2]
lk = [{"EventId": r["eventID"], "EventName": r["eventName"], "CloudTrailEvent": json.dumps(r)} for r in recs]
json.dump(lk, open(f"{out}/lookup-array.json", "w"))                            # jq '.Events'
open(f"{out}/lookup-lines.json", "w").write("".join(json.dumps(x) + "\n" for x in lk))  # jq -c '.Events[]'
json.dump([{"Records": recs[:8]}, {"Records": recs[8:]}], open(f"{out}/slurp.json", "w"))  # jq -s
json.dump([{"Events": lk[:5]}, {"Records": recs[5:]}], open(f"{out}/slurp-mixed.json", "w"))
ls = [{("@timestamp" if k == "eventTime" else k): v for k, v in r.items()} for r in recs]
open(f"{out}/logstash.json", "w").write("".join(json.dumps(x) + "\n" for x in ls))
sp = [dict(r, eventTime=r["eventTime"].replace("T", " ").replace("Z", ".000000000")) for r in recs]
json.dump({"Records": sp}, open(f"{out}/spaced-times.json", "w"))
# one bad UTF-8 byte, one lone surrogate and one over-deep value among good records
parts = [json.dumps(r).encode() for r in recs]
parts[3] = parts[3].replace(b'"GetSecretValue"', b'"GetSecret\xffValue"', 1)
parts[5] = parts[5].replace(b'"GetSecretValue"', b'"GetSecret\\ud800Value"', 1)
parts.append(b'{"x":' + b"[" * 3000 + b"]" * 3000 + b"}")
open(f"{out}/one-bad.json", "wb").write(b'{"Records":[' + b",".join(parts) + b"]}")
# 218 events of a sanitized export, every id "redacted"
red = [dict(recs[i % len(recs)], eventID="redacted", eventTime="2024-07-31T12:%02d:%02dZ" % (i // 60, i % 60)) for i in range(218)]
json.dump({"Records": red}, open(f"{out}/redacted.json", "w"))
open(f"{out}/plain.txt", "w").write("".join(f"2024-01-01 12:00:00 line {i} of an application log\n" for i in range(200000)))
PY

for f in lookup-array lookup-lines slurp slurp-mixed logstash spaced-times; do
  n=$(events_in "$tmp/$f.json"); check "$f: all 21 records read (got $n)" test "$n" = 21
  check "$f: nothing on stderr" test ! -s "$tmp/err"
done
n=$(events_in "$rd/plaso/aws_cloudtrail.jsonl"); check "plaso's lookup-events lines: all 6 read (got $n)" test "$n" = 6

n=$(events_in "$tmp/one-bad.json")
check "one bad record of each kind: the other 19 are mapped (got $n)" test "$n" = 19
check "the bad UTF-8 record is named by index" grep -q "record 3: not JSON: unable to decode byte 0xff" "$tmp/err"
check "the lone surrogate is named by index" grep -q "record 5: not JSON: invalid Unicode" "$tmp/err"
check "the over-deep value is named by index" grep -q "record 21: not JSON: maximum parsing depth" "$tmp/err"

n=$(events_in "$tmp/redacted.json")
check "218 events with the id \"redacted\": all kept (got $n)" test "$n" = 218
check "and said so, once" test "$(grep -c 'share an eventID' "$tmp/err")" = 1

"$tm" map --format json "$tmp/plain.txt" >/dev/null 2>"$tmp/err"; rc=$?
check "200,000 lines of plain text: exit 1" test $rc -eq 1
check "and at most a few lines on stderr ($(wc -l <"$tmp/err"))" test "$(wc -l <"$tmp/err")" -le 3
check "which say no record could be read" grep -q "plain.txt: no CloudTrail record could be read (200000 problems" "$tmp/err"

# a few bad lines among good ones: the good are mapped, the bad are named, then counted
{ head -c 300000 "$tmp/lookup-lines.json"; for i in $(seq 1 12); do echo "garbage line $i"; done; } >"$tmp/mixed.jsonl"
n=$(events_in "$tmp/mixed.jsonl")
check "good lines among bad ones are mapped (got $n)" test "$n" = 21
check "at most 5 bad lines named, then a count" test "$(grep -c '(skipped)' "$tmp/err")" -eq 5 -a "$(grep -c '7 more bad records skipped' "$tmp/err")" -eq 1

# event text is escaped in the table: ESC, CR and a bidi override in a bucket name
python3 - "$tmp/evil.json" <<'PY'
import json, sys
r = {"eventVersion": "1.08", "eventTime": "2024-05-01T10:00:00Z", "eventID": "e1", "eventSource": "s3.amazonaws.com",
     "eventName": "CreateBucket", "awsRegion": "us-east-1", "readOnly": False, "eventType": "AwsApiCall",
     "sessionCredentialFromConsole": "true", "userAgent": "AWS Internal",
     "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/mallory\u202e", "accessKeyId": "ASIAX", "userName": "mallory",
                      "sessionContext": {"attributes": {"creationDate": "2024-05-01T09:59:00Z"}}},
     "requestParameters": {"bucketName": "b\u001b[2J\u001b]0;owned\u0007\rfake\u202egpj.exe"}}
json.dump({"Records": [r]}, open(sys.argv[1], "w"))
PY
"$tm" map --format table --no-color "$tmp/evil.json" >"$tmp/evil.table"
check "table: no raw ESC, BEL or CR from events" python3 -c 'import sys; t=open(sys.argv[1],"rb").read(); sys.exit(any(c in t for c in (b"\x1b", b"\x07", b"\r")))' "$tmp/evil.table"
check "table: no raw bidi override" python3 -c 'import sys; sys.exit("\u202e" in open(sys.argv[1], encoding="utf-8").read())' "$tmp/evil.table"
check "table: shown escaped" grep -qF 'b\x1b[2J\x1b]0;owned\x07\x0dfake\u202egpj.exe' "$tmp/evil.table"
check "table: the session key escaped too" grep -qF 'user/mallory\u202e' "$tmp/evil.table"

finish
