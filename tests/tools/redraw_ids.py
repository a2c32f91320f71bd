#!/usr/bin/env python3
"""Same-second robustness: gives every event of each corpus session a fresh
random eventID (as another recording of the same clicks would have), maps
it, translates the ids back and compares the signals with those of the
original ids.  CloudTrail times have one-second resolution, so the order
of events within a second must not come from their random ids.

  redraw_ids.py --corpus DIR --trailmap BIN [--draws N] [--seed S]

Prints a line per session that changed and a total; exits 1 on any change."""
import argparse, json, random, subprocess, sys, tempfile, uuid
from pathlib import Path


def load(path):
    raw = Path(path).read_bytes()
    doc = json.loads(raw)
    return doc["Records"] if isinstance(doc, dict) and "Records" in doc else doc


def signals(tm, records, back=None):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(records, f)
        name = f.name
    try:
        out = subprocess.run([tm, "map", "--format", "cartographer", name], capture_output=True, text=True, check=True)
    finally:
        Path(name).unlink()
    doc = json.loads(out.stdout)
    back = back or {}
    res = set()
    for sig in doc.values():
        ids = tuple(sorted(back.get(i, i) for i in sig["AllEventIdArr"].split(",") if i))
        res.add((sig["Label"], sig["Name"], sig["Summary"], json.dumps(sig["AdditionalData"], sort_keys=True), ids))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--trailmap", required=True)
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    changed = total = 0
    for d in sorted(Path(a.corpus).iterdir()):
        inp = d / "InputEvents.json"
        if not inp.exists():
            continue
        recs = load(inp)
        want = signals(a.trailmap, recs)
        bad = 0
        for _ in range(a.draws):
            back, new = {}, []
            for r in recs:
                nid = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
                back[nid] = r.get("eventID")
                new.append(dict(r, eventID=nid))
            total += 1
            if signals(a.trailmap, new, back) != want:
                bad += 1
        if bad:
            print(f"{d.name[:12]}: signals changed in {bad} of {a.draws} draws")
            changed += bad
    print(f"total: {changed} of {total} draws changed a session's signals")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
