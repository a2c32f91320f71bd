#!/usr/bin/env python3
"""Builds tests/data/three_users.json.gz and three_users_{1,2,3}.json.

Three console sessions of the compatibility corpus (minimized records, no
userIdentity) become three users' sessions in full CloudTrail form:

  1  01b11411...  alice, an IAM user (ConsoleLogin + GetSigninToken, two ASIA keys)
  2  05a71330...  bob@example.com, an SSO assumed role (one ASIA key)
  3  631f0603...  carol, an IAM user (two ASIA keys)

Every field of a corpus record is kept with its value; only fields are added
(eventVersion, userIdentity, sourceIPAddress, requestID, readOnly, eventType,
managementEvent, recipientAccountId, eventCategory, tlsDetails,
sessionCredentialFromConsole, additionalEventData for ConsoleLogin), and
eventTime is shifted by a whole number of seconds per session so that the three
sessions overlap in time (they were recorded on different days).  Console
back-end calls (userAgent "AWS Internal" or "<service>.amazonaws.com") get
userIdentity.invokedBy and that sourceIPAddress, beside the user's key and
sessionContext, as CloudTrail writes them.

three_users.json.gz is {"Records":[...]} with the records of all three users
shuffled; three_users_<n>.json holds user n's records alone, in their original
order, each record written with exactly the same bytes as in the mixed file.
The output is deterministic (fixed seed, gzip mtime 0).

Usage: make_three_users.py [--corpus DIR] [--out DIR]
The corpus (Apache-2.0, Permiso; see tests/corpus or the shared corpus) is
looked up in DIR/<session>/InputEvents.json.
"""
import argparse
import datetime
import gzip
import json
import os
import random
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ACCOUNT = "111122223333"
SEED = 20231204

SESSIONS = [
    "01b11411976e0d80d2528881b018fc020d44a2620b901f89c31f65f506e94e44",
    "05a71330a1dea36bac1f1e2ee421c7500821f6b791b8a73ecbc52677b14e1bff",
    "631f0603e287c7837479b7d3752f57094dcf66f3d0963e6837508466cf623169",
]

# When each session starts after the shift (the first one keeps its times).
STARTS = ["2023-12-04T20:27:07Z", "2023-12-04T20:28:00Z", "2023-12-04T20:26:30Z"]

SSO_ROLE = "AWSReservedSSO_PowerUserAccess_1a2b3c4d5e6f7a8b"

USERS = [
    {
        "kind": "iam", "name": "alice", "principalId": "AIDARQ7EXAMPLEALICE01",
        "keys": {"ec2": "ASIARQ7EXAMPLEALIC01", "*": "ASIARQ7EXAMPLEALIC02"},
        "ip": "198.51.100.23", "mfa": "true",
    },
    {
        "kind": "sso", "name": "bob@example.com", "principalId": "AROARQ7EXAMPLEROLE001:bob@example.com",
        "keys": {"*": "ASIARQ7EXAMPLEBOB001"},
        "ip": "203.0.113.57", "mfa": "false",
    },
    {
        "kind": "iam", "name": "carol", "principalId": "AIDARQ7EXAMPLECAROL1",
        "keys": {"ec2": "ASIARQ7EXAMPLECAR001", "*": "ASIARQ7EXAMPLECAR002"},
        "ip": "192.0.2.140", "mfa": "true",
    },
]

READ_PREFIXES = ("Describe", "List", "Get", "Lookup", "Search", "Head", "BatchGet", "Check", "View")


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def fmt_time(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def find_corpus(arg):
    cands = [arg] if arg else [
        os.path.join(REPO, "tests", "corpus", "sessions"),
        os.path.join(REPO, "tests", "corpus"),
        "/work/shared/corpus/sessions",
    ]
    for c in cands:
        if c and all(os.path.exists(os.path.join(c, s, "InputEvents.json")) for s in SESSIONS):
            return c
    sys.exit("corpus not found (tried %s); use --corpus DIR" % ", ".join(c for c in cands if c))


def identity(user, rec, creation):
    """The userIdentity of user for record rec."""
    svc = rec["eventSource"].split(".")[0]
    console_signin = rec["eventSource"] == "signin.amazonaws.com"
    if user["kind"] == "iam":
        ui = {
            "type": "IAMUser",
            "principalId": user["principalId"],
            "arn": "arn:aws:iam::%s:user/%s" % (ACCOUNT, user["name"]),
            "accountId": ACCOUNT,
        }
        if console_signin:
            # ConsoleLogin and GetSigninToken of an IAM user carry no session
            ui["accessKeyId"] = ""
            ui["userName"] = user["name"]
            return ui
        ui["accessKeyId"] = user["keys"].get(svc, user["keys"]["*"])
        ui["userName"] = user["name"]
        issuer = {}
    else:
        ui = {
            "type": "AssumedRole",
            "principalId": user["principalId"],
            "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (ACCOUNT, SSO_ROLE, user["name"]),
            "accountId": ACCOUNT,
            "accessKeyId": user["keys"].get(svc, user["keys"]["*"]),
        }
        issuer = {
            "type": "Role",
            "principalId": user["principalId"].split(":")[0],
            "arn": "arn:aws:iam::%s:role/aws-reserved/sso.amazonaws.com/%s" % (ACCOUNT, SSO_ROLE),
            "accountId": ACCOUNT,
            "userName": SSO_ROLE,
        }
    ui["sessionContext"] = {
        "sessionIssuer": issuer,
        "webIdFederationData": {},
        "attributes": {"creationDate": creation, "mfaAuthenticated": user["mfa"]},
    }
    ua = rec.get("userAgent") or ""
    if ua == "AWS Internal" or (ua.endswith(".amazonaws.com") and " " not in ua):
        ui["invokedBy"] = ua
    return ui


def source_ip(user, rec):
    ua = rec.get("userAgent") or ""
    if ua == "AWS Internal" or (ua.endswith(".amazonaws.com") and " " not in ua):
        return ua
    return user["ip"]


def full_record(user, rec, shift, creation, rng):
    t = fmt_time(parse_time(rec["eventTime"]) + shift)
    signin = rec["eventSource"] == "signin.amazonaws.com"
    out = {
        "eventVersion": "1.09" if signin else "1.08",
        "userIdentity": identity(user, rec, creation),
        "eventTime": t,
        "eventSource": rec["eventSource"],
        "eventName": rec["eventName"],
        "awsRegion": rec["awsRegion"],
        "sourceIPAddress": source_ip(user, rec),
        "userAgent": rec["userAgent"],
        "errorCode": rec["errorCode"],
        "errorMessage": rec["errorMessage"],
        "requestParameters": rec["requestParameters"],
        "responseElements": rec["responseElements"],
    }
    if rec["eventName"] == "ConsoleLogin":
        out["additionalEventData"] = {
            "LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
            "MobileVersion": "No",
            "MFAUsed": "Yes" if user["mfa"] == "true" else "No",
        }
    else:
        out["requestID"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    out["eventID"] = rec["eventID"]
    out["readOnly"] = rec["eventName"].startswith(READ_PREFIXES)
    out["eventType"] = "AwsConsoleSignIn" if signin else "AwsApiCall"
    out["managementEvent"] = True
    out["recipientAccountId"] = ACCOUNT
    out["eventCategory"] = "Management"
    if out["sourceIPAddress"] == user["ip"]:
        host = "signin.aws.amazon.com" if signin else "%s.%s.amazonaws.com" % (
            rec["eventSource"].split(".")[0], rec["awsRegion"])
        out["tlsDetails"] = {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": host,
        }
    if not signin:
        out["sessionCredentialFromConsole"] = "true"
    return out


def dump(rec):
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus")
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args()
    corpus = find_corpus(args.corpus)
    rng = random.Random(SEED)

    mixed = []
    for n, (sid, start, user) in enumerate(zip(SESSIONS, STARTS, USERS), 1):
        with open(os.path.join(corpus, sid, "InputEvents.json"), encoding="utf-8") as f:
            recs = json.load(f)
        first = min(parse_time(r["eventTime"]) for r in recs)
        shift = parse_time(start) - first
        # the console session's credentials: at its ConsoleLogin when there is
        # one, else a little before the first event
        logins = [parse_time(r["eventTime"]) + shift for r in recs if r["eventName"] == "ConsoleLogin"]
        creation = fmt_time(min(logins) if logins else parse_time(start) - datetime.timedelta(seconds=41))
        texts = [dump(full_record(user, r, shift, creation, rng)) for r in recs]
        path = os.path.join(args.out, "three_users_%d.json" % n)
        with open(path, "w", encoding="utf-8") as f:
            f.write('{"Records":[\n' + ",\n".join(texts) + "\n]}\n")
        print("%s: %d records of %s (session %s, shifted %+d s, creationDate %s)" % (
            path, len(texts), user["name"], sid[:12], int(shift.total_seconds()), creation))
        mixed.extend(texts)

    rng.shuffle(mixed)
    data = ('{"Records":[' + ",".join(mixed) + "]}").encode("utf-8")
    path = os.path.join(args.out, "three_users.json.gz")
    with open(path, "wb") as f:
        f.write(gzip.compress(data, compresslevel=9, mtime=0))
    print("%s: %d records, %d bytes of JSON" % (path, len(mixed), len(data)))


if __name__ == "__main__":
    main()
