#!/bin/bash
# test-systemserver.sh — ChessEngine as a session runs it: under a real
# SystemServer (--user) from the shipped definition, one sandboxed process
# per connection on the "chess" portal; its own engine, and Stockfish
# started by it as a sandboxed child (when installed); no sandbox
# violation anywhere.   test-systemserver.sh SYSTEMSERVER SVC CHESS ETC_DIR
set -u
ss=$1 svc=$2 chess=$3 etc=$4
dir=$(mktemp -d /tmp/haven-chessss-XXXXXX)
export XDG_RUNTIME_DIR=$dir/run XDG_CONFIG_HOME=$dir/config
unset HAVEN_PORTAL_DIR
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME" "$dir/etc"
cp "$etc/ChessEngine.ini" "$dir/etc/"
if [ -n "${SANITIZED:-}" ]; then
	# As the other session tests: under ASan the service starts
	# unconfined (no LimitAS either) and narrows itself in main().
	sed -i -e '/^Pledge=/d' -e '/^Unveil=/d' -e '/^LimitAS=/d' "$dir"/etc/*.ini
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
fi
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
wait_for() { for _ in $(seq 1 600); do "$@" && return 0; sleep 0.1; done; return 1; }
"$ss" --user --config "$dir/etc" >"$dir/ss.log" 2>&1 &
sspid=$!
cleanup() { kill "$sspid" 2>/dev/null; wait "$sspid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
wait_for test -S "$XDG_RUNTIME_DIR/haven/portal/chess" || { cat "$dir/ss.log"; echo "no portal"; exit 1; }

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
grep -qE 'Bad system call|SIGSYS|sandbox violation' "$dir/ss.log" "$XDG_RUNTIME_DIR"/haven/log/*.log 2>/dev/null &&
	fail "a sandbox violation"
[ $fails -eq 0 ] && echo ok
[ $fails -eq 0 ] || cat "$dir/ss.log" "$XDG_RUNTIME_DIR"/haven/log/*.log >&2
exit $((fails > 0))
