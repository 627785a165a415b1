#!/bin/bash
# fileop-bench — FileOperation (through fileop, its own spawned instance)
# against `cp -a` on the same trees, same run, same filesystem ($TMPDIR):
# 10,000 small files (100 directories of 100, 1-8 KiB), and four 256 MiB
# files. Each copy is timed RUNS times alternately after one warm-up each
# (page cache warm for both); the best times and the ratio cp/fileop are
# printed (1.00 = as fast as cp -a; the goal is >= 0.95).
#   fileop-bench [--quick]   (--quick: 200 files, four 4 MiB files, 1 run, no sync:
#                              a smoke run, its figures mean nothing)
set -euo pipefail
fileop=${FILEOP:-@FILEOP@}
export HAVEN_FILEOPERATION=${HAVEN_FILEOPERATION:-@FILEOPERATION@}
nfiles=10000 big=$((256 << 20)) runs=3
quick=0
if [ "${1:-}" = --quick ]; then nfiles=200 big=$((4 << 20)) runs=1 quick=1; fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/fileop-bench-XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"

python3 - "$nfiles" "$big" <<'PY'
import os, sys
n, big = int(sys.argv[1]), int(sys.argv[2])
rnd = os.urandom(8192)
for i in range(n):
    d = "small/d%03d" % (i // 100)
    if i % 100 == 0:
        os.makedirs(d)
    with open("%s/f%05d" % (d, i), "wb") as f:
        f.write(rnd[: 1024 + (i * 7919) % 7168])
os.makedirs("big")
block = os.urandom(1 << 20)
for i in range(4):
    with open("big/b%d" % i, "wb") as f:
        for _ in range(big >> 20):
            f.write(block)
PY

now() { date +%s.%N; }
# best_of TREE TOOL: the best time of $runs copies.
time_one() {
	local tree=$1 tool=$2 t0 t1
	rm -rf "out-$tool"
	[ $quick = 1 ] || sync
	t0=$(now)
	if [ "$tool" = cp ]; then cp -a "$tree" "out-$tool"; else "$fileop" --spawn --conflict overwrite copy "$tree" "out-$tool"; fi
	t1=$(now)
	echo "$t1 - $t0" | bc
}
report() {
	local tree=$1 what=$2 best_cp=999999 best_fo=999999 t
	time_one "$tree" cp >/dev/null
	time_one "$tree" fileop >/dev/null
	for _ in $(seq 1 "$runs"); do
		t=$(time_one "$tree" cp); best_cp=$(echo "if ($t < $best_cp) $t else $best_cp" | bc)
		t=$(time_one "$tree" fileop); best_fo=$(echo "if ($t < $best_fo) $t else $best_fo" | bc)
	done
	diff -r "$tree" out-fileop >/dev/null || { echo "fileop-bench: the copy of $tree differs" >&2; exit 1; }
	printf '%-28s cp -a %7.3f s   fileop %7.3f s   ratio cp/fileop %.2f\n' "$what" "$best_cp" "$best_fo" \
		"$(echo "scale=4; $best_cp / $best_fo" | bc)"
}
report small "$nfiles small files"
report big "4 x $((big >> 20)) MiB files"
