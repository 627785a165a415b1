#!/bin/bash
# test-crashdaemon.sh — real crashes caught by a real CrashDaemon.
#   test-crashdaemon.sh CRASHDAEMON CRASH FIXTURE CRASH_SEND PRELOAD_SO
# Session mode: each fixture crash (NULL, abort, division by zero, stack
# overflow, a crash in the 3rd of 4 threads) run under `crash run`, its
# report's signal and crashing-thread frames in order; dedup (10 crashes,
# one entry); the quota; a process gone before attach; 50 crashes at once.
# System mode: --kernel fed a gdb-made core (never the machine's
# core_pattern), `crash core` loaded by gdb with the same frames; a
# truncated and a garbage core; install/restore-handler on a stand-in file.
set -u
daemon=$(realpath "$1") crash=$(realpath "$2") fixture=$(realpath "$3") send=$4 so=$(realpath "$5")
. "$(dirname "$0")/../lib/cli-test.sh" crashdaemon
export HAVEN_CRASH_PRELOAD=$so XDG_STATE_HOME=$dir/state
store=$dir/store
start_service "$daemon" crash --store "$store"
sock=$HAVEN_PORTAL_DIR/crash

# The crashing thread's function names, top first, one line.
frames() { "$crash" --store "$1" show "$2" |
	awk '/\(crashing\):$/ {on=1; next} on && NF == 0 {exit} on {sub(/\+0x.*/, "", $3); printf "%s ", $3}'; }
# The ids of store $1, and the one id of the second list not in the first.
ids() { "$crash" --store "$1" list | cut -d' ' -f1 | sort; }
new_id() { comm -13 <(echo "$1") <(echo "$2"); }
run_crash() { # MODE EXPECTED_RC
	# (In a subshell: bash itself would report the signal.)
	local rc; rc=$( ("$crash" run -- "$fixture" "$1" >/dev/null 2>&1); echo $?)
	[ "$rc" -eq "$2" ] || fail "$1: exit $rc, expected $2 (the signal's default action)"; }

# --- session mode: each kind of crash --------------------------------------
check() { # MODE RC SIGNAL FRAMES...
	local mode=$1 rc=$2 sig=$3; shift 3
	local before; before=$(ids "$store")
	run_crash "$mode" "$rc"
	local id; id=$(new_id "$before" "$(ids "$store")")
	[ -n "$id" ] && [ "$(echo "$id" | wc -l)" -eq 1 ] || { fail "$mode: no new report"; return; }
	"$crash" --store "$store" show "$id" >"$dir/show" || fail "$mode: show $id"
	grep -q "^signal: [0-9]* $sig\$" "$dir/show" || fail "$mode: report does not name $sig"
	grep -q "^executable: $fixture\$" "$dir/show" || fail "$mode: executable not named"
	grep -q "^pid: [0-9]" "$dir/show" && grep -q "^uid: $(id -u)\$" "$dir/show" || fail "$mode: pid/uid"
	grep -q "^registers: .*rip=0x" "$dir/show" || fail "$mode: no registers"
	grep -q "^modules:" "$dir/show" && grep -q "libc.so" "$dir/show" || fail "$mode: no module list"
	local got; got=$(frames "$store" "$id")
	[[ "$got" == "$*"* ]] || fail "$mode: crashing thread's frames '$got', expected '$*'"
	grep -q "crash_here+0x[0-9a-f]* (.*fixture.c:[0-9]*)" "$dir/show" || [ "$mode" = overflow ] ||
		fail "$mode: no file:line for crash_here"
	echo "$id" >"$dir/id.$mode"
}
check null 139 SIGSEGV crash_here level2 level1 main
grep -q "^address: 0x0\$" "$dir/show" || fail "null: fault address is not 0"
check abort 134 SIGABRT
frames "$store" "$(cat "$dir/id.abort")" | grep -q "abort crash_here level2 level1 main" ||
	fail "abort: frames $(frames "$store" "$(cat "$dir/id.abort")")"
check fpe 136 SIGFPE crash_here level2 level1 main
check overflow 139 SIGSEGV recurse recurse recurse
check thread 139 SIGSEGV crash_here level2 level1 crashing_thread
grep -q "^threads: 4\$" "$dir/show" || fail "thread: not 4 threads: $(grep threads: "$dir/show")"
[ "$(grep -c '^thread [0-9]*' "$dir/show")" -eq 4 ] || fail "thread: 4 backtraces expected"
grep -q "^address: 0x10\$" "$dir/show" || fail "thread: fault address is not 0x10"
# The crashing thread is the one that faulted, not the main thread.
ct=$(sed -n 's/^crashing-thread: //p' "$dir/show"); pid=$(sed -n 's/^pid: //p' "$dir/show")
[ -n "$ct" ] && [ "$ct" != "$pid" ] || fail "thread: crashing thread $ct is the main thread $pid"

# --- dedup: the same crash 10 times is one entry, count 10 -----------------
for _ in 2 3 4 5 6 7 8 9 10; do run_crash null 139; done
id=$(cat "$dir/id.null")
"$crash" --store "$store" list >"$dir/list"
[ "$(grep -c "^$id " "$dir/list")" -eq 1 ] || fail "dedup: $id listed $(grep -c "^$id " "$dir/list") times"
[ "$(awk -v id="$id" '$1 == id {print $2}' "$dir/list")" = 10 ] || fail "dedup: count $(grep "^$id" "$dir/list")"
[ "$(wc -l <"$dir/list")" -eq 5 ] || fail "dedup: $(wc -l <"$dir/list") entries, expected 5"
expect_rc 0 "$crash" --store "$store" --json show "${id:0:6}"
grep -q "\"count\":10," "$dir/out" || fail "show --json: $(head -c 200 "$dir/out")"

# --- bad input: gone before attach, someone else's pid, bad fields ----------
"$fixture" exit; gone=$!
sleep 0 & gone=$!; wait $gone
expect_rc 1 "$send" "$sock" "$gone" "$gone" 11
grep -q "exited before it could be attached" "$dir/out" || fail "gone: $(cat "$dir/out")"
expect_rc 1 "$send" "$sock" 0 0 11
expect_rc 1 "$send" "$sock" $$ $$ 99
[ "$(wc -l <"$dir/list")" -eq 5 ] || fail "bad calls made records"
kill -0 "${pids[0]}" || fail "the daemon died on bad calls"

# --- a flood: 50 crashes at once -------------------------------------------
fl=()
for i in $(seq 50); do ( ("$crash" run -- "$fixture" fpe >/dev/null 2>&1); echo $? >"$dir/flood.$i" ) & fl+=($!); done
for p in "${fl[@]}"; do wait "$p"; done
bad=$(cat "$dir"/flood.* | grep -vc '^136$')
[ "$bad" -eq 0 ] || fail "flood: $bad of 50 did not die of SIGFPE"
kill -0 "${pids[0]}" || fail "the daemon died in the flood"
fid=$(cat "$dir/id.fpe")
[ "$("$crash" --store "$store" list | awk -v id="$fid" '$1 == id {print $2}')" = 51 ] ||
	fail "flood: count $("$crash" --store "$store" list | grep "^$fid")"

# --- rm ----------------------------------------------------------------------
expect_rc 0 "$crash" --store "$store" rm "$(cat "$dir/id.abort")"
expect_rc 1 "$crash" --store "$store" show "$(cat "$dir/id.abort")"
grep -q "no such report" "$dir/err" || fail "rm: $(cat "$dir/err")"

# --- the quota: the least recently seen goes first ---------------------------
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null; pids=()
q=$dir/quota
start_service "$daemon" crash --store "$q" --max-reports 2
# (Same-second ties go to the earliest in the index: one sleep is enough.)
run_crash null 139; sleep 1.1; run_crash abort 134; run_crash fpe 136
"$crash" --store "$q" list >"$dir/list"
[ "$(wc -l <"$dir/list")" -eq 2 ] || fail "quota: $(wc -l <"$dir/list") entries, expected 2"
grep -q SIGSEGV "$dir/list" && fail "quota: the oldest (SIGSEGV) was kept"
grep -q SIGABRT "$dir/list" && grep -q SIGFPE "$dir/list" || fail "quota: newest not kept: $(cat "$dir/list")"
[ "$(ls "$q" | grep -c report.zst)" -eq 2 ] || fail "quota: files left: $(ls "$q")"

# --- system mode: a core on stdin ------------------------------------------
# Short: the kernel takes 127 bytes of core_pattern.
k=$(mktemp -d /tmp/hvck.XXXXXX); trap 'cleanup; rm -rf "$k"' EXIT
gdb -q -batch -ex run -ex "gcore $dir/core" --args "$fixture" null >"$dir/gdb.log" 2>&1
[ -s "$dir/core" ] || { fail "gdb made no core: $(tail -3 "$dir/gdb.log")"; finish; }
expect_rc 0 "$daemon" --kernel --store "$k" 4242 "$(id -u)" "$(id -g)" 11 "$(date +%s)" "$fixture" <"$dir/core"
kid=$(cat "$dir/out")
[ -f "$k/$kid.core.zst" ] || fail "kernel: no compressed core"
ls -a "$k" | grep -q incoming && fail "kernel: a temporary core was left"
"$crash" --store "$k" show "$kid" >"$dir/show"
grep -q "^signal: 11 SIGSEGV" "$dir/show" && grep -q "^mode: kernel" "$dir/show" || fail "kernel: $(head "$dir/show")"
kf=$(frames "$k" "$kid")
[[ "$kf" == "crash_here level2 level1 main"* ]] || fail "kernel: frames '$kf'"
"$crash" --store "$k" core "$kid" >"$dir/core2" || fail "crash core"
cmp -s "$dir/core" "$dir/core2" || fail "crash core: not the core that came in"
# (gdb prints frame #0 once on loading the core, then the whole bt.)
gdb -q -batch -ex bt "$fixture" "$dir/core2" 2>/dev/null | awk '/^#[0-9]/ && !seen[$1]++' |
	sed 's/^#[0-9]* *\(0x[0-9a-f]* in \)\?\([a-z_0-9]*\) .*/\2/' | tr '\n' ' ' >"$dir/gdbbt"
[ "$(cat "$dir/gdbbt")" = "crash_here level2 level1 main " ] || fail "gdb bt '$(cat "$dir/gdbbt")' vs report '$kf'"
# `crash gdb` loads the same core (gdb reads no commands from /dev/null).
"$crash" --store "$k" gdb "$kid" </dev/null >"$dir/gdb.out" 2>&1
grep -q "in crash_here ()" "$dir/gdb.out" || fail "crash gdb: $(tail -3 "$dir/gdb.out")"
# Truncated and garbage cores: a clean record that says so.
head -c 3000 "$dir/core" | "$daemon" --kernel --store "$k" 4243 0 0 11 1 fixture >"$dir/out" 2>"$dir/err"
tid=$(cat "$dir/out")
"$crash" --store "$k" show "$tid" | grep -q "^error: " || fail "truncated core: no error in the record"
head -c 5000 /dev/urandom | "$daemon" --kernel --store "$k" 4244 0 0 6 1 fixture >"$dir/out" 2>"$dir/err"
"$crash" --store "$k" show "$(cat "$dir/out")" | grep -q "^error: " || fail "garbage core: no error record"
expect_rc 2 "$daemon" --kernel --store "$k" x 0 0 6 1 fixture </dev/null

# install-handler / restore-handler, on a stand-in for core_pattern.
echo "core.%p" >"$dir/pattern"
export HAVEN_CORE_PATTERN=$dir/pattern
expect_rc 0 "$crash" --store "$k" install-handler "$daemon"
grep -q "^|/.*CrashDaemon --kernel --store $k %P %u %g %s %t %e\$" "$dir/pattern" || fail "install: $(cat "$dir/pattern")"
expect_rc 1 "$crash" --store "$k" install-handler "$daemon"
expect_rc 0 "$crash" --store "$k" restore-handler
[ "$(cat "$dir/pattern")" = "core.%p" ] || fail "restore: $(cat "$dir/pattern")"
unset HAVEN_CORE_PATTERN

# --- the CLI's usage and errors ----------------------------------------------
expect_rc 0 "$crash" --help
expect_rc 2 "$crash"
expect_rc 2 "$crash" show
expect_rc 2 "$crash" --frob list
expect_rc 1 "$crash" --store "$k" show zz
expect_rc 1 "$crash" --store "$store" core "$(cat "$dir/id.null")"
grep -q "no core" "$dir/err" || fail "core of a session report: $(cat "$dir/err")"
finish
