#!/bin/bash
# test-systemserver.sh — ChessEngine as a session runs it: under a real
# SystemServer (--user) from the shipped definition, one sandboxed process
# per connection on the "chess" portal; its own engine, and Stockfish
# started by it as a sandboxed child (when installed); no sandbox
# violation anywhere.   test-systemserver.sh SYSTEMSERVER SVC CHESS ETC_DIR
. "$(dirname "$0")/../lib/cli-test.sh" chess-session
. "$(dirname "$0")/../lib/session-test.sh"
ss=$1 svc=$2 chess=$3 etc=$4
cp "$etc/ChessEngine.ini" "$dir/etc/"
session_start "$ss" chess

out=$("$chess" perft startpos 3 2>&1) || fail "perft: $out"
[ "$out" = 8902 ] || fail "perft 3: $out"
out=$("$chess" bestmove "6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1" --depth 3 2>&1) || fail "bestmove: $out"
[ "$out" = a1a8 ] || fail "bestmove mate in 1: $out"
if [ -x /usr/games/stockfish ]; then
	out=$("$chess" bestmove startpos --moves "f3 e5 g4" --engine stockfish --depth 6 2>&1) ||
		fail "bestmove --engine stockfish: $out"
	[ "$out" = d8h4 ] || fail "stockfish behind the endpoint: $out"
fi

"$svc" shutdown >/dev/null || fail "svc shutdown"
wait "$sspid"; rc=$?
[ $rc -eq 0 ] || fail "SystemServer exited $rc"
session_finish
