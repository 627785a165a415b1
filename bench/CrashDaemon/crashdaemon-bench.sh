#!/bin/bash
# crashdaemon-bench — CrashDaemon against its floor and its peer, one run:
#  1. session mode: a crash of a 100 MB-resident process to its stored
#     report (`crash run`), against the same process dying unwatched;
#  2. system mode: that process's core (gdb's gcore) through --kernel:
#     time, and the stored (zstd) size against the raw core;
#  3. the backtrace of a core: CrashDaemon --kernel against elfutils'
#     `eu-stack --core`: the same frames, and the time ratio.
# Nothing is asserted; it prints. Never touches core_pattern.
set -u
daemon=@DAEMON@ crash=@CRASH@ fixture=@FIXTURE@ so=@PRELOAD@
dir=$(mktemp -d /tmp/hvcb.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap cleanup EXIT
export HAVEN_CRASH_PRELOAD=$so HAVEN_PORTAL_DIR=$dir/portal
mkdir -p "$dir/portal"
"$daemon" --socket "$dir/portal/crash" --store "$dir/s" 2>"$dir/d.log" & pids+=($!)
for _ in $(seq 100); do [ -S "$dir/portal/crash" ] && break; sleep 0.05; done
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
best() { sort -n | head -1; }

# 1. Session mode, best of 3.
for _ in 1 2 3; do
	t0=$(now); ("$fixture" big >/dev/null 2>&1) 2>/dev/null; t1=$(now)
	("$crash" run -- "$fixture" big >/dev/null 2>&1) 2>/dev/null; t2=$(now)
	echo "$(ms "$t0" "$t1") $(ms "$t1" "$t2")"
done >"$dir/s1"
floor=$(cut -d' ' -f1 "$dir/s1" | best); with=$(cut -d' ' -f2 "$dir/s1" | best)
echo "session: 100 MB process: dies unwatched in $floor ms, with its report stored in $with ms" \
	"(report: +$((with - floor)) ms; goal <= 2000)"
"$crash" --store "$dir/s" list | head -1

# 2. System mode on the same process's core.
gdb -q -batch -ex run -ex "gcore $dir/big.core" --args "$fixture" big >/dev/null 2>&1
raw=$(stat -c %s "$dir/big.core")
t0=$(now); cp "$dir/big.core" "$dir/copy.core"; sync "$dir/copy.core"; t1=$(now); rm -f "$dir/copy.core"
id=$("$daemon" --kernel --store "$dir/k" 1 0 0 11 "$(date +%s)" "$fixture" <"$dir/big.core"); t2=$(now)
zst=$(stat -c %s "$dir/k/$id.core.zst")
echo "kernel: core $((raw >> 20)) MiB stored as $((zst >> 20)) MiB zstd ($(awk -v a="$raw" -v b="$zst" 'BEGIN {printf "%.1f", a / b}')x)" \
	"in $(ms "$t1" "$t2") ms with its report; a raw copy + sync takes $(ms "$t0" "$t1") ms"

# 3. Backtrace of a core: CrashDaemon vs eu-stack, best of 5 each.
gdb -q -batch -ex run -ex "gcore $dir/small.core" --args "$fixture" null >/dev/null 2>&1
for _ in 1 2 3 4 5; do
	t0=$(now); eu-stack -e "$fixture" --core "$dir/small.core" >"$dir/eu.txt" 2>/dev/null; t1=$(now)
	"$daemon" --kernel --store "$dir/b" 1 0 0 11 1 "$fixture" <"$dir/small.core" >"$dir/bid"; t2=$(now)
	echo "$(( (t1 - t0) / 1000 )) $(( (t2 - t1) / 1000 ))"
done >"$dir/s3"
eu=$(cut -d' ' -f1 "$dir/s3" | best); cd_=$(cut -d' ' -f2 "$dir/s3" | best)
euf=$(awk '/^TID/ {n++} n == 1 && /^#/ {print $3}' "$dir/eu.txt" | head -4 | tr '\n' ' ')
cdf=$("$crash" --store "$dir/b" show "$(cat "$dir/bid")" |
	awk '/\(crashing\):$/ {on=1; next} on && NF == 0 {exit} on {sub(/\+0x.*/, "", $3); print $3}' | head -4 | tr '\n' ' ')
echo "backtrace of a core: eu-stack '$euf' in $((eu / 1000)).$(( (eu % 1000) / 100 )) ms," \
	"CrashDaemon '$cdf' in $((cd_ / 1000)).$(( (cd_ % 1000) / 100 )) ms (with compression and storing)," \
	"ratio $(awk -v a="$cd_" -v b="$eu" 'BEGIN {printf "%.2f", a / b}'); frames $([ "$euf" = "$cdf" ] && echo same || echo DIFFER)"
