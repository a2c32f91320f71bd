#!/usr/bin/env python3
"""Rebuilds the derived files of tests/realdata from the public sources named
in NOTICE.  Run it with the sources' git directories (as `fetch` or
`git clone --bare` leaves them):

  extract.py --stratus DIR --panther DIR --awsdocs DIR

The Stratus Red Team detonation logs are copied as they are; the Panther
test events and the AWS user guide's examples are taken out of YAML and
Markdown into CloudTrail log files ({"Records": [...]}), record for record,
nothing edited."""
import argparse, json, re, subprocess, sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
STRATUS_COMMIT = "7c9a7a5a63dc370260a6528dd0d30476854806c1"
PANTHER_COMMIT = "daa10c888566839e9918dfba1cd652743781e5fe"
AWSDOCS_COMMIT = "c7adfd8"   # the last commit before the guide's text was removed
AWSDOCS_FILES = ["cloudtrail-event-reference-aws-console-sign-in-events.md",
                 "cloudtrail-log-file-examples.md"]


def git(gitdir, *args):
    return subprocess.run(["git", "--git-dir", gitdir, *args], check=True,
                          capture_output=True).stdout


def stratus(gitdir):
    names = git(gitdir, "ls-tree", "--name-only", STRATUS_COMMIT,
                "docs/detonation-logs/").decode().split()
    for n in names:
        (HERE / "stratus" / Path(n).name).write_bytes(git(gitdir, "show", f"{STRATUS_COMMIT}:{n}"))


def panther(gitdir):
    import yaml
    paths = [p for p in git(gitdir, "ls-tree", "-r", "--name-only", PANTHER_COMMIT).decode().split()
             if p.endswith(".yml") and ("aws" in p or "cloudtrail" in p)]
    records, index = [], []
    for p in sorted(paths):
        doc = yaml.safe_load(git(gitdir, "show", f"{PANTHER_COMMIT}:{p}"))
        if not isinstance(doc, dict) or "AWS.CloudTrail" not in (doc.get("LogTypes") or []):
            continue
        for t in doc.get("Tests") or []:
            log = t.get("Log")
            if isinstance(log, dict) and "eventName" in log and "eventSource" in log:
                index.append({"record": len(records), "file": p, "test": t.get("Name"),
                              "expected": t.get("ExpectedResult")})
                records.append(log)
    write(HERE / "panther" / "rule_tests.json", records)
    (HERE / "panther" / "rule_tests.index.json").write_text(json.dumps(index, indent=1) + "\n")


def awsdocs(gitdir):
    for f in AWSDOCS_FILES:
        text = git(gitdir, "show", f"{AWSDOCS_COMMIT}:doc_source/{f}").decode()
        records = []
        for m in re.finditer(r"```\n?(.*?)```", text, re.S):
            try:
                doc = json.loads(m.group(1).strip())
            except ValueError:
                continue   # shell commands and fragments, not records
            recs = doc["Records"] if isinstance(doc, dict) and "Records" in doc else \
                [doc] if isinstance(doc, dict) else doc
            records += [r for r in recs if isinstance(r, dict) and "eventName" in r]
        write(HERE / "awsdocs" / f.replace(".md", ".json"), records)


def write(path, records):
    path.write_text(json.dumps({"Records": records}, indent=1, sort_keys=False) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stratus")
    ap.add_argument("--panther")
    ap.add_argument("--awsdocs")
    a = ap.parse_args()
    if not (a.stratus or a.panther or a.awsdocs):
        ap.error("name at least one source")
    if a.stratus: stratus(a.stratus)
    if a.panther: panther(a.panther)
    if a.awsdocs: awsdocs(a.awsdocs)


if __name__ == "__main__":
    sys.exit(main())
