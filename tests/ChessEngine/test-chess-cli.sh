#!/bin/bash
# test-chess-cli.sh — `chess` against a real ChessEngine: perft, bestmove,
# a whole game of `play` driven through a pipe, usage errors and the
# service's refusals.   test-chess-cli.sh CHESSENGINE_EXE CHESS_EXE
set -u
server=$1 chess=$2
. "$(dirname "$0")/../lib/cli-test.sh" chess-cli
start_service "$server" chess

expect_rc 0 "$chess" --help; grep -q '^Usage: chess' "$dir/out" || fail "--help has no usage"
expect_rc 2 "$chess"
expect_rc 2 "$chess" perft startpos
expect_rc 2 "$chess" frob startpos
expect_rc 2 "$chess" perft startpos 99
expect_rc 2 "$chess" bestmove startpos --engine deep-blue

expect_rc 0 "$chess" perft startpos 3; [ "$(cat "$dir/out")" = 8902 ] || fail "perft 3: $(cat "$dir/out")"
expect_rc 0 "$chess" perft "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1" 3
[ "$(cat "$dir/out")" = 97862 ] || fail "perft kiwipete 3: $(cat "$dir/out")"
expect_rc 0 "$chess" bestmove "6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1" --depth 3
[ "$(cat "$dir/out")" = a1a8 ] || fail "bestmove mate in 1: $(cat "$dir/out")"
expect_rc 0 "$chess" bestmove startpos --moves "f3 e5 g4" --movetime 200
[ "$(cat "$dir/out")" = d8h4 ] || fail "bestmove Qh4#: $(cat "$dir/out")"
expect_rc 0 "$chess" bestmove startpos --nodes 2000 --verbose
grep -q '^[a-h][1-8][a-h][1-8]$' "$dir/out" || fail "bestmove --nodes: $(cat "$dir/out")"
grep -q '^depth 1 score cp' "$dir/err" || fail "--verbose info: $(cat "$dir/err")"
# --json: the move, its SAN, and the last info line (a mate in 1 found).
expect_rc 0 "$chess" --json bestmove "6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1" --depth 3
python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["bestmove"] == "a1a8" and j["san"] == "Ra8#", j
assert j["mate"] == 1 and j["depth"] >= 1 and j["pv"][0] == "a1a8" and j["nodes"] > 0, j
' "$dir/out" || fail "bestmove --json: $(cat "$dir/out")"
expect_rc 0 "$chess" perft startpos 2 --json
[ "$(cat "$dir/out")" = '{"nodes":400}' ] || fail "perft --json: $(cat "$dir/out")"

expect_rc 1 "$chess" perft "8/8/8 w - - 0 1" 2
grep -q 'FEN field 1 (placement)' "$dir/err" || fail "bad FEN not named: $(cat "$dir/err")"
expect_rc 1 "$chess" bestmove startpos --moves "e4 e4"
grep -q 'e4 is not legal' "$dir/err" || fail "illegal move not said: $(cat "$dir/err")"

# play: the person's moves on stdin (a line each), the engine answers; a
# bad move is said and asked again; the board is drawn with Unicode pieces.
printf 'e4\nKe3\nmoves\nquit\n' | "$chess" play --depth 2 >"$dir/out" 2>"$dir/err" ||
	fail "play exited $?: $(cat "$dir/err")"
grep -q '♔' "$dir/out" || fail "no Unicode board: $(head -5 "$dir/out")"
grep -q 'You play e4$' "$dir/out" || fail "e4 not played: $(cat "$dir/out")"
grep -q '^Engine plays ' "$dir/out" || fail "the engine did not answer"
grep -q 'Ke3 is not legal' "$dir/out" || fail "illegal Ke3 not said"
# as black, from a mate-in-1 position for the engine: the game ends
printf '' | "$chess" play "rnbqkbnr/pppp1ppp/8/4p3/6P1/5P2/PPPPP2P/RNBQKBNR b KQkq - 0 2" --depth 2 >"$dir/out" 2>&1
grep -q '^Engine plays Qh4#$' "$dir/out" && grep -q '^Game over: checkmate.$' "$dir/out" ||
	fail "engine mate as black: $(cat "$dir/out")"
finish
