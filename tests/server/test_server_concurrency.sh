#!/usr/bin/env bash
# Eight clients submitting (plain and gzip'd documents) and querying at
# once all get correct answers.
source "$(dirname "$0")/lib.sh"
start_server "$tmp/data" || exit 1
sessions=$(ls "$src/tests/corpus/sessions" | head -8)
client() {
  local sid=$1 in="$src/tests/corpus/sessions/$1/InputEvents.json"
  python3 - "$in" "$tmp/$sid" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))
for i in range(4): json.dump(ev[i::4], open(f"{sys.argv[2]}.{i}.json", "w"))
PY
  # half the parts gzip'd: a gzip'd document holds only what it inflates to
  # of the server's in-flight budget, so concurrent batches are not "busy"
  gzip "$tmp/$sid.1.json" "$tmp/$sid.3.json"
  "$tm" map --format cartographer "$in" >"$tmp/$sid.want"
  for i in 0 1 2 3; do
    local part="$tmp/$sid.$i.json"; [ -f "$part" ] || part="$part.gz"
    "$tm" submit --session "c-$sid" "$part" >/dev/null 2>"$tmp/$sid.err" || { echo "submit failed: $(tail -1 "$tmp/$sid.err")" >"$tmp/$sid.result"; return; }
    "$tm" signals "c-$sid" --format json >/dev/null 2>"$tmp/$sid.err" || { echo "query failed: $(tail -1 "$tmp/$sid.err")" >"$tmp/$sid.result"; return; }
    "$tm" sessions --format json >/dev/null 2>"$tmp/$sid.err" || { echo "list failed: $(tail -1 "$tmp/$sid.err")" >"$tmp/$sid.result"; return; }
  done
  "$tm" signals "c-$sid" --format cartographer >"$tmp/$sid.got" 2>&1
  if cmp -s "$tmp/$sid.want" "$tmp/$sid.got"; then echo ok >"$tmp/$sid.result"; else echo "differs" >"$tmp/$sid.result"; fi
}
pids=()
for sid in $sessions; do client "$sid" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
for sid in $sessions; do check "client $sid: $(cat "$tmp/$sid.result" 2>/dev/null)" grep -qx ok "$tmp/$sid.result"; done
stop_server
finish
