#!/usr/bin/env python3
"""Checks what trailmap makes of the real public trails in this folder, as
issue 11 asks: no "Clicked" signal made only of API-client calls, every
console write in some signal, every sign-in event a signal, and no session
holding two principals.  The classification of events here is written
apart from the rules (origin.json) on purpose, so that a wrong rule shows.

  check.py [--skip CHECK,...] TRAILMAP [FILE...]
      (default: every .json file below here; CHECK: clicks, writes, signins,
      sessions)

Prints one line per file and per finding; exits 1 on any finding."""
import json, re, subprocess, sys
from pathlib import Path

API_UA = re.compile(r"^\[?(aws-cli/|Boto3/|botocore/|aws-sdk-|AWSPowerShell|APN/1\.0 HashiCorp|Terraform/|"
                    r"stratus-red-team|Pulumi|ec2-api-tools)")


RULES = []  # extra arguments of `trailmap map`
TIME = re.compile(r"^\d{4}-?\d\d-?\d\d[T ]")


def records(path):
    doc = json.loads(Path(path).read_text())
    return doc["Records"] if isinstance(doc, dict) and "Records" in doc else doc if isinstance(doc, list) else [doc]


def is_console(r):
    ua = r.get("userAgent") or ""
    return r.get("sessionCredentialFromConsole") == "true" or r.get("eventType") == "AwsConsoleSignIn" \
        or " exec-env/CloudShell " in ua


def is_api(r):
    if is_console(r) or not isinstance(r.get("userIdentity"), dict):
        return False
    key = r["userIdentity"].get("accessKeyId") or ""
    return key.startswith("AKIA") or bool(API_UA.match(r.get("userAgent") or ""))


def principal(r):
    ui = r.get("userIdentity")
    if not isinstance(ui, dict):
        return None
    if ui.get("type") == "AWSService" or ui.get("invokedBy"):
        return None
    if ui.get("arn"):
        return ui["arn"]
    # sign-in records of IAM users and root may leave the arn out
    if ui.get("type") == "IAMUser" and ui.get("userName") and ui.get("accountId"):
        return f"arn:aws:iam::{ui['accountId']}:user/{ui['userName']}"
    if ui.get("type") == "Root" and ui.get("accountId"):
        return f"arn:aws:iam::{ui['accountId']}:root"
    return ui.get("principalId")


def session_findings(trailmap, path):
    """Every record with its session (the jsonl format), so that records
    sharing an eventID are told apart."""
    out = subprocess.run([trailmap, "map", "--format", "jsonl", str(path)] + RULES, capture_output=True, text=True)
    who = {}
    for line in out.stdout.splitlines():
        r = json.loads(line)
        if principal(r):
            who.setdefault(r["trailmap"]["session"], set()).add(principal(r))
    return [f"session {k} holds {len(v)} principals: {sorted(v)[:4]}" for k, v in who.items() if len(v) > 1]


def check(trailmap, path, skip):
    out = subprocess.run([trailmap, "map", "--format", "json", str(path)] + RULES, capture_output=True, text=True)
    if out.returncode != 0:
        return [f"trailmap map exit {out.returncode}: {out.stderr.strip()[:200]}"]
    doc = json.loads(out.stdout)
    recs = {}
    for r in records(path):
        if not TIME.match(str(r.get("eventTime") or r.get("@timestamp") or "")):
            continue   # no time to place it by: skipped with a reason, as it should be
        recs.setdefault(r.get("eventID") or "", []).append(r)
    findings, in_signal = [], set()
    if "sessions" not in skip:
        findings += session_findings(trailmap, path)
    for s in doc["sessions"]:
        for sig in s["signals"]:
            evs = [r for i in sig["eventIds"] for r in recs.get(i, [])]
            in_signal.update(sig["eventIds"])
            if "clicks" not in skip and "kind" not in sig and sig["name"].startswith("Clicked") and evs and all(is_api(r) for r in evs):
                findings.append(f"API calls shown as a click: {sig['name']} ({len(evs)} events)")
    for i, rs in recs.items():
        for r in rs:
            if "signins" not in skip and r.get("eventSource") == "signin.amazonaws.com" and i not in in_signal:
                findings.append(f"sign-in event not a signal: {r.get('eventName')} {i}")
            if "writes" not in skip and is_console(r) and r.get("readOnly") is False and i not in in_signal:
                findings.append(f"console write only among unmapped: {r.get('eventSource')}:{r.get('eventName')} {i}")
    return findings


def main():
    args = sys.argv[1:]
    skip = set()
    if len(args) >= 2 and args[0] == "--skip":
        skip = set(args[1].split(","))
        args = args[2:]
    if not args:
        sys.exit(__doc__)
    here = Path(__file__).resolve().parent
    files = args[1:] or sorted(str(p) for p in here.rglob("*.json") if not p.name.endswith(".index.json"))
    bad = 0
    for f in files:
        fs = check(args[0], f, skip)
        print(f"{Path(f).relative_to(here) if Path(f).is_relative_to(here) else f}: {len(fs)} finding(s)")
        for x in fs:
            print("  " + x)
        bad += len(fs)
    print(f"total: {bad} finding(s) in {len(files)} file(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
