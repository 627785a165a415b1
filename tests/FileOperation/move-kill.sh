#!/bin/bash
# move-kill.sh FILEOP FILEOPERATION — a move across two filesystems (two
# tmpfs mounts in a private mount namespace), its FileOperation killed with
# SIGKILL midway, several times: after each kill every file is complete in
# the source or at its final name in the destination (or both), never lost
# and never half-written under its name; moved again, all arrive. Needs a
# mount namespace (root, or an unprivileged user namespace): else skipped.
if [ -z "$FILEOP_IN_NS" ]; then
	if [ "$(id -u)" = 0 ]; then ns=(unshare -m --propagation private); else ns=(unshare -rm --propagation private); fi
	if ! "${ns[@]}" true 2>/dev/null; then
		echo "no mount namespace here: skipped"
		exit 77
	fi
	FILEOP_IN_NS=1 exec "${ns[@]}" "$0" "$@"
fi
. "$(dirname "$0")/../lib/cli-test.sh" fileop-move-kill
fileop=$(realpath "$1")
service=$(realpath "$2")
cd "$dir" || exit 1
mkdir A B
mount -t tmpfs -o size=128m fileop-a A && mount -t tmpfs -o size=128m fileop-b B || { echo "cannot mount tmpfs: skipped"; exit 77; }
mkdir -p A/tree/sub1/deeper A/tree/sub2
for i in $(seq 1 12); do
	head -c $((1 << 20)) /dev/urandom >A/tree/f$i
	head -c $((1 << 20)) /dev/urandom >A/tree/sub1/g$i
	head -c 4096 /dev/urandom >A/tree/sub1/deeper/h$i
	echo "small $i" >A/tree/sub2/s$i
done
head -c $((24 << 20)) /dev/urandom >A/tree/big
(cd A && find tree -type f -exec sha256sum {} +) | sort -k2 >manifest

# Every file of the manifest complete in A or in B; nothing under a final
# name in B that is not complete.
check_nothing_lost() {
	python3 - "$1" <<'PY' >check.out || fail "$(cat check.out)"
import hashlib, sys
bad = 0
for line in open("manifest"):
    want, name = line.split(None, 1)
    name = name.rstrip("\n")
    ok = False
    for side in ("A", "B"):
        try:
            got = hashlib.sha256(open(side + "/" + name, "rb").read()).hexdigest()
        except FileNotFoundError:
            continue
        if got == want:
            ok = True
        elif side == "B":
            print("round %s: B/%s is there but not complete" % (sys.argv[1], name)); bad += 1
    if not ok:
        print("round %s: %s lost" % (sys.argv[1], name)); bad += 1
sys.exit(1 if bad else 0)
PY
}

sock=$HAVEN_PORTAL_DIR/fileop
move_and_kill() { # ROUND DELAY SRC DST [SERVICE ARGS]
	local round=$1 delay=$2 src=$3 dst=$4; shift 4
	"$service" --socket "$sock" "$@" 2>>service.log &
	local spid=$!
	wait_for test -S "$sock"
	"$fileop" --socket "$sock" --conflict overwrite --json move "$src" "$dst" >json.$round 2>&1 &
	local cpid=$!
	if [ "$delay" = paused ]; then
		wait_for grep -q '"paused":true' json.$round || fail "round $round: no pause"
	else
		sleep "$delay"
	fi
	kill -KILL $spid 2>/dev/null
	wait $spid $cpid 2>/dev/null
	rm -f "$sock"
	check_nothing_lost "$round"
	echo "round $round: killed with $(find A -type f 2>/dev/null | wc -l) files still in A"
}
# Midway for certain: paused after 8 MiB of a 24 MiB file, then killed.
mkdir B/tree
move_and_kill 1 paused A/tree/big B/tree --debug-pause-at $((8 << 20))
[ -f A/tree/big ] || fail "round 1: the move finished before the kill"
# Then at whatever point the scheduler gives.
for r in 2 3 4 5; do
	[ -d A/tree ] || break
	move_and_kill $r "0.0$((r * 2))" A/tree B
done
# Finish it (unless a round did): everything in B, nothing left in A.
if [ -d A/tree ]; then
	"$fileop" --spawn --conflict overwrite move A/tree B 2>err || fail "the last move: $(cat err)"
fi
[ -e A/tree ] && fail "A/tree still exists after the move: $(find A/tree | head)"
(cd B && find tree -type f ! -name '.fileop-*' -exec sha256sum {} +) | sort -k2 >after
cmp -s manifest after || fail "B differs from what A held: $(diff manifest after | head)"
cd / && umount "$dir/A" "$dir/B"
finish
