#!/usr/bin/env python3
"""Batches of distinct full CloudTrail records for the fault tests.

  fault_batches.py make RECORDS.json.gz OUTDIR COUNT SEED
      COUNT files OUTDIR/bNN.json, each a copy of the records (the three
      users' sessions) shifted by 2*(k+1) days, with fresh eventIDs and
      access keys, so no two batches share an event or a session.
  fault_batches.py check OUTDIR [EXPECTED]
      every event of the batches listed in OUTDIR/acked is in
      OUTDIR/stored.jsonl exactly once (and EXPECTED were acknowledged).
"""
import datetime, gzip, json, random, re, sys, uuid


def make(src, out, count, seed):
    recs = json.load(gzip.open(src))["Records"]
    rnd = random.Random(seed)
    stamp = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)((?:\.\d+)?Z)"')
    key = re.compile(r'\b(ASIA|AKIA)[A-Z0-9]{16}\b')
    for k in range(count):
        shift = datetime.timedelta(days=2 * (k + 1))
        batch = []
        for r in recs:
            r = dict(r)
            r["eventID"] = str(uuid.UUID(int=rnd.getrandbits(128)))
            text = stamp.sub(lambda m: '"' + (datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S") + shift)
                             .strftime("%Y-%m-%dT%H:%M:%S") + m.group(2) + '"', json.dumps(r))
            text = key.sub(lambda m: m.group(0)[:4] + "%04d" % k + m.group(0)[8:], text)
            batch.append(json.loads(text))
        json.dump(batch, open(f"{out}/b{k:02d}.json", "w"))


def check(tmp, expected=None):
    acked = set()
    for b in open(f"{tmp}/acked").read().split():
        acked |= {e["eventID"] for e in json.load(open(b))}
    stored = [json.loads(l)["eventID"] for l in open(f"{tmp}/stored.jsonl")]
    missing = acked - set(stored)
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged events lost"
    assert len(stored) == len(set(stored)), "an event stored twice"
    if expected is not None:
        assert len(acked) == expected, f"{len(acked)} acknowledged"
    print(f"{len(acked)} acknowledged, {len(stored)} stored", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        check(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None)
