#!/bin/bash
# cancel.sh FILEOP FILEOPERATION — Ctrl-C halfway through a file cancels
# cleanly: the summary says -ECANCELED, fileop exits 1, and the destination
# holds no partial file (neither the final name nor a temporary one). The
# service pauses itself after 8 MiB (--debug-pause-at), so "halfway" is
# certain, not a race.
. "$(dirname "$0")/../lib/cli-test.sh" fileop-cancel
fileop=$(realpath "$1")
service=$(realpath "$2")
start_service "$service" fileop --debug-pause-at $((8 << 20))
cd "$dir" || exit 1
mkdir src dst
head -c $((24 << 20)) /dev/urandom >src/big
echo small >src/small
"$fileop" --json --socket "$HAVEN_PORTAL_DIR/fileop" copy src/big src/small dst >json 2>err &
pid=$!
wait_for grep -q '"paused":true' json || fail "the operation did not pause: $(cat json err)"
grep '"paused":true' json | head -1 | grep -q '"bytes_done":8388608,' || fail "paused elsewhere than after 8 MiB: $(grep paused json | head -1)"
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 1 ] || fail "fileop after Ctrl-C: rc $rc, expected 1: $(cat err)"
grep -q '"event":"finished","status":-125,' json || fail "the summary does not say cancelled: $(tail -1 json)"
grep -q cancelled err || fail "fileop does not say it was cancelled: $(cat err)"
left=$(ls -A dst)
[ -z "$left" ] || fail "cancel left in the destination: $left"
# The service ends with its client.
wait_for bash -c "! kill -0 ${pids[0]} 2>/dev/null" || fail "FileOperation still runs after its client left"

# The same with the instance fileop starts itself (--spawn), and Ctrl-C as
# a terminal sends it: SIGINT to the whole foreground process group, the
# service included. It must ignore it and let its client cancel; one that
# died of it would leave its temporary file and no summary.
printf '#!/bin/sh\nexec "%s" --debug-pause-at %d "$@"\n' "$service" $((8 << 20)) >paused-fileop
chmod +x paused-fileop
rm -f json err
HAVEN_FILEOPERATION=$dir/paused-fileop setsid "$fileop" --json --spawn copy src/big src/small dst >json 2>err &
pid=$!
wait_for grep -q '"paused":true' json || fail "the spawned operation did not pause: $(cat json err)"
kill -INT -- -$pid
wait $pid
rc=$?
[ $rc -eq 1 ] || fail "fileop --spawn after Ctrl-C to its group: rc $rc, expected 1: $(cat err)"
grep -q '"event":"finished","status":-125,' json || fail "--spawn: the summary does not say cancelled: $(tail -1 json) $(cat err)"
left=$(ls -A dst)
[ -z "$left" ] || fail "--spawn: cancel left in the destination: $left"
finish
