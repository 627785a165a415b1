#!/bin/bash
# test-sql-cli.sh — `sql` against a real SQLServer: output modes, several
# statements in one argument, errors with their offset, exit codes, and
# the portal as default.   test-sql-cli.sh SQLSERVER_EXE SQL_EXE
set -u
server=$1 sql=$2
. "$(dirname "$0")/../lib/cli-test.sh" sql-cli
mkdir -p "$dir/data"
start_service "$server" sql --dir "$dir/data"

expect_rc 0 "$sql" --help; grep -q '^Usage: sql' "$dir/out" || fail "--help has no usage"
expect_rc 2 "$sql"
expect_rc 2 "$sql" db
expect_rc 2 "$sql" db "SELECT 1" --json --csv
expect_rc 2 "$sql" db "SELECT 1" --frob

expect_rc 0 "$sql" db "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL, d BLOB);
  INSERT INTO t VALUES(1, 'x,\"y\"', 1.5, x'00ff'), (2, NULL, 3, NULL)"
expect_rc 0 "$sql" db "SELECT * FROM t ORDER BY a"
[ "$(cat "$dir/out")" = $'1|x,"y"|1.5|X\'00ff\'\n2||3.0|' ] || fail "list mode: $(cat "$dir/out")"
expect_rc 0 "$sql" db "SELECT * FROM t ORDER BY a" --csv
[ "$(cat "$dir/out")" = $'a,b,c,d\n1,"x,""y""",1.5,X\'00ff\'\n2,,3.0,' ] || fail "csv: $(cat "$dir/out")"
expect_rc 0 "$sql" --json db "SELECT a, b FROM t ORDER BY a"
[ "$(cat "$dir/out")" = $'[{"a":1,"b":"x,\\"y\\""},\n{"a":2,"b":null}]' ] || fail "json: $(cat "$dir/out")"
# The files are where --dir says, in WAL mode.
[ -f "$dir/data/db.db" ] || fail "no $dir/data/db.db"
expect_rc 0 "$sql" db "PRAGMA journal_mode"; [ "$(cat "$dir/out")" = wal ] || fail "not WAL"

# Errors: SQLite's message and the offset in the whole argument.
expect_rc 1 "$sql" db "SELECT 1; SELEC 2"
grep -q 'offset 10: near "SELEC": syntax error' "$dir/err" || fail "syntax error: $(cat "$dir/err")"
expect_rc 1 "$sql" ../etc "SELECT 1"; grep -q 'invalid database name' "$dir/err" || fail "bad name: $(cat "$dir/err")"
expect_rc 1 "$sql" db "ATTACH '/etc/passwd' AS p"; grep -q 'ATTACH is not allowed' "$dir/err" || fail "attach: $(cat "$dir/err")"

# The default socket is the "sql" portal.
expect_rc 0 "$sql" db "SELECT count(*) FROM t"; [ "$(cat "$dir/out")" = 2 ] || fail "count"
HAVEN_PORTAL_DIR=$dir/none expect_rc 1 "$sql" db "SELECT 1"
grep -q 'cannot reach SQLServer' "$dir/err" || fail "unreachable not said: $(cat "$dir/err")"

# A frozen service: the call times out ($HAVEN_TIMEOUT_MS), no hang.
kill -STOP "${pids[0]}"
HAVEN_TIMEOUT_MS=300 expect_rc 1 timeout 20 "$sql" db "SELECT 1"
grep -q 'did not answer' "$dir/err" || fail "frozen service not said: $(cat "$dir/err")"
kill -CONT "${pids[0]}"
expect_rc 0 "$sql" db "SELECT 1"
finish
