#!/bin/sh
# tests/sandbox/test-sandbox-run.sh — sandbox-run end to end, with the exact
# commands of issue 4 plus exit-status, usage and debug behaviour.
# Usage: test-sandbox-run.sh SANDBOX-RUN HELPER
set -u
RUN=$1
HELPER=$2
T=$(mktemp -d /tmp/hv-sandbox-run-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

HOSTFILE=/etc/hostname
[ -r "$HOSTFILE" ] || { echo test-host > "$T/hostname"; HOSTFILE=$T/hostname; }

# 1. an ordinary dynamically linked program starts under "stdio rpath"
out=$("$RUN" --pledge "stdio rpath" -- cat "$HOSTFILE" 2>"$T/err"); rc=$?
[ $rc -eq 0 ] || fail "stdio rpath cat: exit $rc: $(cat "$T/err")"
[ "$out" = "$(cat "$HOSTFILE")" ] || fail "stdio rpath cat: wrong output '$out'"

# 2. without rpath it is killed, as a signal death, with the call named
"$RUN" --pledge "stdio" -- cat "$HOSTFILE" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 159 ] || fail "stdio cat: exit $rc, want 159 (128+SIGSYS)"
grep -q "pledge: system call .* is not allowed by \"stdio\"; killed with SIGSYS" "$T/err" ||
	fail "stdio cat: no log line naming the call: $(cat "$T/err")"

# 3. unveiling only a directory: cat starts (its executable and libraries
#    are added), and reading the file outside is refused
mkdir "$T/x"
out=$("$RUN" --unveil "$T/x:r" -- cat "$HOSTFILE" 2>"$T/err"); rc=$?
[ $rc -eq 1 ] && [ -z "$out" ] || fail "unveil $T/x:r cat: exit $rc, output '$out'"
grep -q "Permission denied" "$T/err" || fail "unveil: cat should say Permission denied: $(cat "$T/err")"
echo hello > "$T/x/file"
out=$("$RUN" --unveil "$T/x:r" --pledge "stdio rpath" -- cat "$T/x/file" 2>"$T/err"); rc=$?
[ $rc -eq 0 ] && [ "$out" = hello ] || fail "unveil + pledge: exit $rc, output '$out': $(cat "$T/err")"
# --bare-unveil: nothing added, so cat itself is refused
out=$("$RUN" --bare-unveil --unveil "$T/x:r" -- cat "$T/x/file" 2>"$T/err"); rc=$?
[ $rc -eq 126 ] && [ -z "$out" ] || fail "bare unveil: exit $rc, output '$out'"
grep -q "Permission denied" "$T/err" || fail "bare unveil: refusal not reported: $(cat "$T/err")"
# a script's interpreter is added too
printf '#!/bin/sh\necho from-script\n' > "$T/x/script"; chmod +x "$T/x/script"
out=$("$RUN" --unveil "$T/x:r" --pledge "stdio rpath" -- "$T/x/script" 2>"$T/err"); rc=$?
[ $rc -eq 0 ] && [ "$out" = from-script ] || fail "script under unveil: exit $rc, '$out': $(cat "$T/err")"

# ... and TCP port rules: only the unveiled port may be connected to
if command -v bash >/dev/null; then
	"$RUN" --unveil tcp:40001:c -- bash -c 'exec 3<>/dev/tcp/127.0.0.1/40003' 2>"$T/err"
	grep -q "connect: Permission denied" "$T/err" || fail "tcp rule: other port not refused: $(cat "$T/err")"
	"$RUN" --unveil tcp:40001:c -- bash -c 'exec 3<>/dev/tcp/127.0.0.1/40001' 2>"$T/err"
	! grep -q "Permission denied" "$T/err" || fail "tcp rule: unveiled port refused: $(cat "$T/err")"
fi

# ... socket activation passes through: LISTEN_PID names the command
printf '#!/bin/sh\necho "$LISTEN_PID $$"\n' > "$T/pids"; chmod +x "$T/pids"
out=$(sh -c 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" --pledge "stdio rpath" -- "$1"' "$RUN" "$T/pids" 2>"$T/err")
set -- $out
[ "$#" -eq 2 ] && [ "$1" = "$2" ] || fail "LISTEN_PID should be the command's pid: '$out'"

# ... and the command inherits neither the seccomp listener (it could
#     answer its own violations) nor the socket it was handed over on
out=$("$RUN" --pledge "stdio rpath" -- find /proc/self/fd/ -maxdepth 1 -printf '%l\n' 2>"$T/err") ||
	fail "fd listing: $(cat "$T/err")"
! printf '%s\n' "$out" | grep -q -e seccomp -e 'socket:' || fail "leaked fds into the command: $out"

# 4. exit status is the command's; signal deaths pass through
"$RUN" --pledge "stdio rpath" -- sh -c 'exit 7' 2>"$T/err"; rc=$?
[ $rc -eq 7 ] || fail "exit status: $rc, want 7: $(cat "$T/err")"
"$RUN" --pledge "stdio rpath" -- sh -c 'kill -TERM $$' 2>"$T/err"; rc=$?
[ $rc -eq 143 ] || fail "signal death: $rc, want 143: $(cat "$T/err")"

# 5. isatty() works under stdio (test -t 0 on a non-tty: false, not killed)
"$RUN" --pledge "stdio rpath" -- test -t 0 </dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || fail "isatty under stdio: exit $rc: $(cat "$T/err")"

# 6. debug: the forbidden call fails with EPERM and is logged
"$RUN" --debug --pledge "stdio rpath" -- "$HELPER" eperm 2>"$T/err"; rc=$?
[ $rc -eq 0 ] || fail "debug: helper should see EPERM: exit $rc: $(cat "$T/err")"
grep -q "system call socket .*failing it with EPERM" "$T/err" || fail "debug: no log line: $(cat "$T/err")"

# 7. without stdio no listener can be handed over: killed, still reported
"$RUN" --pledge "rpath" -- "$HELPER" promises 2>"$T/err"; rc=$?
[ $rc -eq 159 ] || fail "no stdio: exit $rc, want 159"
grep -q "killed by SIGSYS" "$T/err" || fail "no stdio: not reported: $(cat "$T/err")"

# 8. nested: the inner one cannot have a listener of its own (one per
#    process tree), so its command is killed by the kernel, still reported.
#    (A sanitizer build's inner sandbox-run runs confined: LeakSanitizer's
#    exit check needs ptrace, which no promise grants.)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"; export ASAN_OPTIONS
out=$("$RUN" --pledge "stdio rpath proc exec" -- "$RUN" --pledge "stdio rpath" -- cat "$HOSTFILE" 2>"$T/err"); rc=$?
[ $rc -eq 0 ] && [ "$out" = "$(cat "$HOSTFILE")" ] || fail "nested: exit $rc: $(cat "$T/err")"
"$RUN" --pledge "stdio rpath proc exec" -- "$RUN" --pledge "stdio" -- cat "$HOSTFILE" 2>"$T/err"; rc=$?
[ $rc -eq 159 ] && grep -q "killed by SIGSYS" "$T/err" || fail "nested violation: exit $rc: $(cat "$T/err")"

# 9. usage
"$RUN" --help | grep -q "^Usage: sandbox-run" || fail "--help"
"$RUN" >/dev/null 2>&1; [ $? -eq 2 ] || fail "no command: want exit 2"
"$RUN" --bogus -- true >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad option: want exit 2"
"$RUN" --pledge "stdio frobnicate" -- true 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q 'unknown promise "frobnicate"' "$T/err" || fail "bad promise: exit $rc: $(cat "$T/err")"
"$RUN" --unveil "/tmp:rq" -- true >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad unveil perms: want exit 2"
"$RUN" -- "$T/no-such-command" 2>/dev/null; [ $? -eq 127 ] || fail "missing command: want 127"
"$RUN" --unveil "$T/no-such-dir:r" -- true 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "no-such-dir:r: No such file" "$T/err" || fail "missing unveil path: exit $rc: $(cat "$T/err")"

if [ $fails -ne 0 ]; then
	echo "$fails failure(s)" >&2
	exit 1
fi
echo ok
