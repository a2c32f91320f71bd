#!/usr/bin/env bash
# Faults: the data directory's file system turns read-only under a running
# trailmapd.  `mount -o remount,ro` refuses while files are open for
# writing, but an ext4 file system mounted with errors=remount-ro goes
# read-only at once on an error, as a failing disk would make it; ext4's
# sysfs trigger_fs_error raises one.  Needs root, a loop device and ext4
# (exits 77 where they are missing).
#   read-only under the server   submits are refused with UNAVAILABLE and
#                                nothing of them is stored; reads are served;
#                                the log says it once with a count
#   after repair (fsck, mount rw, restart)   every acknowledged event is
#                                there and the refused batches go in
source "$(dirname "$0")/lib.sh"
tma="$build/trailmap-admin"
img="$tmp/ext4.img" mnt="$tmp/mnt"
mkdir -p "$mnt"
skip() { echo "SKIP: $*"; exit 77; }
command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null || skip "no mkfs.ext4/e2fsck"
truncate -s 64M "$img" && mkfs.ext4 -q -F "$img" >/dev/null 2>&1 || skip "mkfs.ext4 failed"
mount -o loop,errors=remount-ro "$img" "$mnt" 2>"$tmp/mount.err" || skip "cannot mount a loop device (needs root): $(cat "$tmp/mount.err")"
ro_cleanup() {
  [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  server_pid=""
  mountpoint -q "$mnt" && { umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null; }
  cleanup
}
trap ro_cleanup EXIT
dev=$(basename "$(findmnt -no SOURCE "$mnt")")
trigger="/sys/fs/ext4/$dev/trigger_fs_error"
[ -w "$trigger" ] || skip "no $trigger"

# 12 batches of 242 distinct full CloudTrail records
python3 "$src/tests/server/fault_batches.py" make "$src/tests/data/three_users.json.gz" "$tmp" 12 7472 || exit 1
: >"$tmp/acked"
submit() { "$tm" submit "$1" >"$tmp/last" 2>&1 && echo "$1" >>"$tmp/acked"; }

start_server "$tmp/unused" --data "$mnt/data" || exit 1
for b in "$tmp"/b0[0-3].json; do check "submit $(basename "$b") before the fault" submit "$b"; done

# ---- the file system turns read-only under the server
echo 1 >"$trigger"
touch "$mnt/probe" 2>/dev/null; probe=$?
check "the file system is read-only now" test "$probe" -ne 0
refused=0
for b in "$tmp"/b0[4-9].json; do
  "$tm" submit "$b" >"$tmp/last" 2>&1; rc=$?
  [ "$rc" -eq 1 ] && grep -q UNAVAILABLE "$tmp/last" && refused=$((refused + 1))
done
check "every submit is refused with exit 1 and UNAVAILABLE ($refused of 6)" test "$refused" -eq 6
check "... saying the store could not write" grep -q "could not write the batch" "$tmp/last"
"$tm" sessions --format json >"$tmp/sessions.json"
check "sessions are listed on a read-only file system" test $? -eq 0
key1=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d=d.get("sessions",d) if isinstance(d,dict) else d; print(d[0]["key"])' "$tmp/sessions.json")
"$tm" signals "$key1" --format json >"$tmp/signals.json"
check "a stored session's signals are served" grep -q '"correlationId"' "$tmp/signals.json"
"$tm" events "$key1" --format jsonl >"$tmp/ev.jsonl"
check "a stored session's events are served" test -s "$tmp/ev.jsonl"
"$tma" stats >"$tmp/stats.txt" 2>&1
check "stats are served" test $? -eq 0
nerr=$(grep -c "could not write the batch" "$tmp/server.log")
check "the log holds the failure in at most 3 lines ($nerr) for 6 refusals" test "$nerr" -ge 1 -a "$nerr" -le 3
stop_server; rc=$?
check "SIGTERM stops the server cleanly on a read-only file system (exit $rc)" test "$rc" -eq 0

# ---- repaired: fsck, mounted read-write, restarted
umount "$mnt"
e2fsck -fy "$img" >"$tmp/fsck.out" 2>&1; rc=$?
check "fsck repairs or finds nothing (exit $rc)" test "$rc" -le 1
mount -o loop,errors=remount-ro "$img" "$mnt"
start_server "$tmp/unused" --data "$mnt/data" || exit 1
for b in "$tmp"/b0[4-9].json "$tmp"/b1[01].json; do submit "$b" || bad "submit $(basename "$b") after the repair: $(cat "$tmp/last")"; done
check "the refused batches go in after the repair, all new" grep -q "accepted 242, duplicates 0" "$tmp/last"
"$tm" sessions --format json >"$tmp/sessions.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d=d.get("sessions",d) if isinstance(d,dict) else d; print("\n".join(s["key"] for s in d))' \
  "$tmp/sessions.json" >"$tmp/keys"
: >"$tmp/stored.jsonl"
while read -r k; do "$tm" events "$k" --format jsonl >>"$tmp/stored.jsonl" || bad "events $k"; done <"$tmp/keys"
check "every acknowledged event is stored, once" python3 "$src/tests/server/fault_batches.py" check "$tmp" $((12 * 242))
stop_server
finish
