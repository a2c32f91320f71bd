#!/usr/bin/env bash
# The compatibility corpus: every session of tests/corpus mapped by
# `trailmap map --format cartographer` and scored with tests/tools/score-signals
# (the project's scorer).  Fails when the exact share drops below the floors,
# which are the figures the rules reach today: raise them, never lower them.
set -euo pipefail
src=${TM_SOURCE_DIR:?} build=${TM_BUILD_DIR:?}
score="$src/tests/tools/score-signals"
cmd="$build/trailmap map --rules $src/rules --format cartographer {input}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

python3 "$score" --corpus "$src/tests/corpus/sessions" --cmd "$cmd" --labels '^(?!EC2_|VPC_)' >"$out"
echo "without EC2/VPC: $(tail -1 "$out")"
python3 - "$out" "${TM_FLOOR_NON_EC2:-1.0}" <<'PY'
import re, sys
line = open(sys.argv[1]).read().strip().splitlines()[-1]
m = re.search(r"exact (\d+)/(\d+)", line)
e, n = int(m.group(1)), int(m.group(2))
floor = float(sys.argv[2])
errors = [l for l in open(sys.argv[1]) if " error: " in l]
if errors:
    sys.exit("sessions that failed to map:\n" + "".join(errors))
if n == 0 or e / n < floor:
    sys.exit(f"exact share {e}/{n} is below the floor {floor}")
PY

python3 "$score" --corpus "$src/tests/corpus/sessions" --cmd "$cmd" >"$out"
echo "all labels:      $(tail -1 "$out")"
python3 - "$out" "${TM_FLOOR_ALL:-1.0}" <<'PY'
import re, sys
line = open(sys.argv[1]).read().strip().splitlines()[-1]
m = re.search(r"exact (\d+)/(\d+)", line)
e, n = int(m.group(1)), int(m.group(2))
if e / n < float(sys.argv[2]):
    sys.exit(f"exact share {e}/{n} is below the floor {sys.argv[2]}")
PY
