#!/bin/bash
# test-runner.sh ECHOSERVER IMAGEDECODER — the service runner (haven/service.h)
# as a person meets it through any service: --help from the option table,
# usage errors with exit code 2, --socket by hand (pledged, the socket file
# removed on a clean SIGTERM exit), and a service whose setup fails exits 1.
set -uo pipefail
echo_server=$1 image_decoder=$2
tmp=$(mktemp -d /tmp/hv-runner.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 # pledged: no ptrace for LSan

expect_rc() { # RC CMD...
	local want=$1 rc=0
	shift
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	[ "$rc" = "$want" ] || fail "$* exited $rc, not $want: $(cat "$tmp/err")"
}

expect_rc 0 "$echo_server" --help
grep -q "^Usage: EchoServer \[--socket PATH\]$" "$tmp/out" || fail "EchoServer --help: $(cat "$tmp/out")"
grep -q "^  --socket PATH" "$tmp/out" || fail "--socket is not described"
expect_rc 0 "$image_decoder" -h
for opt in --max-pixels --max-memory --cpu-seconds --max-input --debug-hooks; do
	grep -q -- "$opt" "$tmp/out" || fail "ImageDecoder --help lacks $opt"
done

expect_rc 2 "$echo_server" --bogus
grep -q "^EchoServer: unknown option: --bogus$" "$tmp/err" || fail "no reason given: $(cat "$tmp/err")"
grep -q "^Usage: EchoServer" "$tmp/err" || fail "no usage after a usage error"
expect_rc 2 "$echo_server" --socket
grep -q "needs a value" "$tmp/err" || fail "--socket without a path: $(cat "$tmp/err")"
expect_rc 2 "$echo_server" stray-argument
expect_rc 2 "$image_decoder" --max-pixels 0
grep -q "invalid value: 0" "$tmp/err" || fail "a bad value: $(cat "$tmp/err")"
expect_rc 2 "$image_decoder" --max-memory=lots

# Nothing handed over and no --socket: the service says how to start it.
expect_rc 1 env -u LISTEN_FDS "$echo_server"
grep -q "no socket to serve" "$tmp/err" || fail "no reason: $(cat "$tmp/err")"

# Quotas from the manager (HAVEN_IPC_QUOTAS): a bad entry is named, exit 1.
expect_rc 1 env HAVEN_IPC_QUOTAS="uid-fds=16 total-bytes=lots" "$echo_server" --socket="$tmp/q.sock"
grep -q 'HAVEN_IPC_QUOTAS: bad entry "total-bytes=lots"' "$tmp/err" || fail "bad quota: $(cat "$tmp/err")"
expect_rc 1 env HAVEN_IPC_QUOTAS="frame-deadline=5" "$echo_server" --socket="$tmp/q.sock"

# By hand: serves, is pledged, removes its socket file on SIGTERM.
sock=$tmp/echo.sock
# A stale socket file there is replaced; the new one is 0600 whatever the
# umask, and nothing else is left in the directory.
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$sock"
(umask 022; exec "$echo_server" --socket="$sock") 2>"$tmp/echo.log" &
pid=$!
for _ in $(seq 300); do [ -S "$sock" ] && break; sleep 0.02; done
[ -S "$sock" ] || fail "no socket: $(cat "$tmp/echo.log")"
for _ in $(seq 300); do grep -q "Seccomp:[[:space:]]*2" "/proc/$pid/status" && break; sleep 0.02; done
grep -q "Seccomp:[[:space:]]*2" "/proc/$pid/status" || fail "EchoServer is not pledged"
[ "$(stat -c %a "$sock")" = 600 ] || fail "socket mode $(stat -c %a "$sock"), not 600"
[ "$(ls -A "$tmp" | grep -c '^\.echo\.sock')" = 0 ] || fail "a temporary socket was left: $(ls -A "$tmp")"
kill "$pid"
rc=0; wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || fail "EchoServer exited $rc on SIGTERM: $(cat "$tmp/echo.log")"
[ ! -e "$sock" ] || fail "the socket file was left behind"
echo "ok: runner command line, by-hand start and clean exit"
