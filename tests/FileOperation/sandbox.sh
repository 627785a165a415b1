#!/bin/bash
# sandbox.sh FILEOP FILEOPERATION SYSCALL_INJECT — a FileOperation in the
# middle of a copy (paused after 8 MiB by --debug-pause-at) made to run
# one more system call from outside (tests/lib/syscall-inject): opening a
# file outside what it was handed is refused by its Landlock domain
# (EACCES), opening its own source works, and a network socket ends it
# (seccomp: SIGSYS). Skipped (77) where ptrace is not permitted.
. "$(dirname "$0")/../lib/cli-test.sh" fileop-sandbox
fileop=$(realpath "$1")
inject=$(realpath "$3")
start_service "$(realpath "$2")" fileop --debug-pause-at $((8 << 20))
spid=${pids[0]}
cd "$dir" || exit 1
mkdir src dst outside
head -c $((24 << 20)) /dev/urandom >src/big
echo "not yours" >outside/secret
"$fileop" --json --socket "$HAVEN_PORTAL_DIR/fileop" copy src/big dst >json 2>err &
cpid=$!
wait_for grep -q '"paused":true' json || fail "the operation did not pause: $(cat json err)"
out=$("$inject" "$spid" open "$dir/outside/secret")
rc=$?
if [ $rc -eq 77 ]; then
	echo "ptrace not permitted here: skipped"
	kill $cpid
	exit 77
fi
[ "$out" = "result -13" ] || fail "opening a file outside its directories: $out, expected result -13 (EACCES)"
out=$("$inject" "$spid" open "$dir/src/big")
case "$out" in "result "[0-9]*) ;; *) fail "opening its own source: $out" ;; esac
out=$("$inject" "$spid" socket-inet)
case "$out" in "killed SIGSYS" | "signal SIGSYS") ;; *) fail "a network socket: $out, expected SIGSYS" ;; esac
wait $cpid
rc=$?
[ $rc -eq 1 ] || fail "fileop with its FileOperation killed: rc $rc"
grep -q "ended before the operation finished" err || fail "fileop does not say the service ended: $(cat err)"
finish
