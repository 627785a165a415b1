#!/bin/bash
# test-systemserver.sh — SQLServer as a session runs it: under a real
# SystemServer (--user) from the shipped definition, sandboxed, started on
# first use of the "sql" portal, its databases in $XDG_DATA_HOME; then
# SIGKILLed during a stream of two-row transactions and respawned: every
# acknowledged commit is there, no half of a transaction is.
#   test-systemserver.sh SYSTEMSERVER SVC SQL ETC_DIR
. "$(dirname "$0")/../lib/cli-test.sh" sql-session
. "$(dirname "$0")/../lib/session-test.sh"
ss=$1 svc=$2 sql=$3 etc=$4
cp "$etc/SQLServer.ini" "$dir/etc/"
session_start "$ss" sql

"$sql" notes "CREATE TABLE t(i INTEGER, half INTEGER)" || fail "create"
[ -f "$XDG_DATA_HOME/haven/SQLServer/notes.db" ] || fail "not in \$XDG_DATA_HOME/haven/SQLServer"
pid=$(svc_pid SQLServer)
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
kill -9 "$(svc_pid SQLServer)"
wait "$writer"
running() { [ -n "$(svc_pid SQLServer)" ]; }
wait_for running || fail "not respawned"
[ "$(svc_pid SQLServer)" != "$pid" ] || fail "same pid after SIGKILL"
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
session_finish
