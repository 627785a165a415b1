#!/bin/bash
# test-uci.sh — `ChessEngine --uci` driven as a GUI drives an engine: the
# handshake, isready while thinking, positions from startpos and FEN with
# moves, go with each kind of limit, stop, a bad command ignored, quit.
#   test-uci.sh CHESSENGINE_EXE
set -u
exe=$1
. "$(dirname "$0")/../lib/cli-test.sh" chess-uci
# The engine is confined (no ptrace): LeakSanitizer cannot run in it.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
coproc ENG { "$exe" --uci 2>"$dir/engine.err"; }
pids+=($ENG_PID)
send() { echo "$*" >&"${ENG[1]}"; }
# expect REGEX: read lines until one matches (10 s without one: a failure);
# the matching line is in $line.
expect() {
	while IFS= read -r -t 10 line <&"${ENG[0]}"; do
		echo "$line" >>"$dir/transcript"
		[[ $line =~ $1 ]] && return 0
	done
	fail "no line matching '$1' (transcript: $(tail -3 "$dir/transcript" 2>/dev/null))"
	return 1
}

send uci
expect '^id name ' && expect '^option name Skill Level type spin' && expect '^uciok$'
send isready; expect '^readyok$'
send ucinewgame
send position startpos moves e2e4 e7e5
send go depth 4
expect '^info depth 4 .*score cp -?[0-9]+ nodes [0-9]+ nps [0-9]+ .*pv [a-h][1-8]' &&
	expect '^bestmove [a-h][1-8][a-h][1-8]'

# Mate in 1 from a FEN: the mate is found and said as "mate 1".
send "position fen 6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1"
send go depth 3
expect '^info depth 1 .*score mate 1 ' && expect '^bestmove a1a8$'
# Moves after a FEN; black to move after them, mated by Qh4 in 1.
send "position fen rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1 moves f2f3 e7e5 g2g4"
send go nodes 20000
expect '^bestmove d8h4'

# go infinite: isready answered while it thinks, then stop gives a move.
send position startpos
send go infinite
sleep 0.3
send isready; expect '^readyok$'
send stop; expect '^bestmove [a-h][1-8][a-h][1-8]'
# clocks and movetime end on their own
send go wtime 1000 btime 1000 winc 10 binc 10; expect '^bestmove '
send go movetime 100; expect '^bestmove '
# perft as Stockfish's "go perft"
send go perft 3; expect '^Nodes searched: 8902$'

# Bad input: said on an info string, the engine goes on.
send frobnicate; expect '^info string unknown command frobnicate'
send "position fen 8/8/8/8 w - - 0 1"; expect '^info string FEN field 1'
send position startpos moves e2e5; expect '^info string position: illegal move e2e5'
send isready; expect '^readyok$'
send setoption name Skill Level value 0
send position startpos
send go depth 2; expect '^bestmove [a-h][1-8][a-h][1-8]'
send quit
wait "$ENG_PID"; rc=$?
[ "$rc" -eq 0 ] || fail "exit status $rc after quit: $(cat "$dir/engine.err")"

# A script may pipe commands and read the answer at end of input.
out=$(printf 'position startpos moves e2e4\ngo depth 3\n' | "$exe" --uci)
grep -q '^bestmove [a-h][1-8][a-h][1-8]' <<<"$out" || fail "piped go depth 3: $out"
finish
