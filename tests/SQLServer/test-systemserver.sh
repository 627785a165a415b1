#!/bin/bash
# test-systemserver.sh — SQLServer as a session runs it: under a real
# SystemServer (--user) from the shipped definition, sandboxed, started on
# first use of the "sql" portal, its databases in $XDG_DATA_HOME; then
# SIGKILLed during a stream of two-row transactions and respawned: every
# acknowledged commit is there, no half of a transaction is.
#   test-systemserver.sh SYSTEMSERVER SVC SQL ETC_DIR
set -u
ss=$1 svc=$2 sql=$3 etc=$4
dir=$(mktemp -d /tmp/haven-sqlss-XXXXXX)
export XDG_RUNTIME_DIR=$dir/run XDG_CONFIG_HOME=$dir/config XDG_DATA_HOME=$dir/data
unset HAVEN_PORTAL_DIR
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$dir/etc"
cp "$etc/SQLServer.ini" "$dir/etc/"
if [ -n "${SANITIZED:-}" ]; then
	# As tests/Clipboard/test-session.sh: under ASan the service starts
	# unconfined and narrows itself in main().
	sed -i -e '/^Pledge=/d' -e '/^Unveil=/d' "$dir"/etc/*.ini
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
fi
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
wait_for() { for _ in $(seq 1 600); do "$@" && return 0; sleep 0.1; done; return 1; }
"$ss" --user --config "$dir/etc" >"$dir/ss.log" 2>&1 &
sspid=$!
cleanup() { kill "$sspid" 2>/dev/null; wait "$sspid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
wait_for test -S "$XDG_RUNTIME_DIR/haven/portal/sql" || { cat "$dir/ss.log"; echo "no portal"; exit 1; }
svc_pid() { "$svc" status SQLServer --json | sed -n 's/.*"pid": \([0-9]*\).*/\1/p'; }

"$sql" notes "CREATE TABLE t(i INTEGER, half INTEGER)" || fail "create"
[ -f "$XDG_DATA_HOME/haven/SQLServer/notes.db" ] || fail "not in \$XDG_DATA_HOME/haven/SQLServer"
pid=$(svc_pid)
[ -n "$pid" ] && grep -q $'^Seccomp:\t2$' "/proc/$pid/status" &&
	grep -q $'^NoNewPrivs:\t1$' "/proc/$pid/status" || fail "SQLServer is not sandboxed"

# Two-row transactions, each acknowledged one recorded; SIGKILL midway.
: >"$dir/acked"
(for i in $(seq 1 200); do
	"$sql" notes "BEGIN; INSERT INTO t VALUES($i, 1); INSERT INTO t VALUES($i, 2); COMMIT" \
		2>>"$dir/writer.err" && echo "$i" >>"$dir/acked"
done) &
writer=$!
acked_at_least() { [ "$(wc -l <"$dir/acked")" -ge "$1" ]; }
wait_for acked_at_least 50 || fail "no commits: $(tail -3 "$dir/writer.err")"
kill -9 "$(svc_pid)"
wait "$writer"
running() { [ -n "$(svc_pid)" ]; }
wait_for running || fail "not respawned"
[ "$(svc_pid)" != "$pid" ] || fail "same pid after SIGKILL"
acked=$(wc -l <"$dir/acked")
[ "$acked" -ge 150 ] || fail "only $acked of 200 commits acknowledged"
"$sql" notes "SELECT count(*) FROM (SELECT i FROM t GROUP BY i HAVING count(*) != 2)" >"$dir/half" ||
	fail "count halves"
[ "$(cat "$dir/half")" = 0 ] || fail "partial transactions: $(cat "$dir/half")"
for i in $(cat "$dir/acked"); do echo "$i"; done | sort -n >"$dir/want"
"$sql" notes "SELECT DISTINCT i FROM t ORDER BY i" >"$dir/have" || fail "select"
comm -23 "$dir/want" <(sort -n "$dir/have") >"$dir/lost"
[ -s "$dir/lost" ] && fail "acknowledged commits lost: $(tr '\n' ' ' <"$dir/lost")"

"$svc" shutdown >/dev/null || fail "svc shutdown"
wait "$sspid"; rc=$?
[ $rc -eq 0 ] || fail "SystemServer exited $rc"
grep -q 'Bad system call' "$dir/ss.log" && fail "a sandbox violation: $(cat "$dir/ss.log")"
[ $fails -eq 0 ] && echo ok
[ $fails -eq 0 ] || cat "$dir/ss.log" "$XDG_RUNTIME_DIR"/haven/log/*.log >&2
exit $((fails > 0))
