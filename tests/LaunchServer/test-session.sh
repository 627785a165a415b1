#!/bin/bash
# test-session.sh — LaunchServer as a session runs it: under a real
# SystemServer (--user) from the shipped definition, started by the first
# `launch`, confined (seccomp, no_new_privs; Landlock drawn by itself), and
# still able to start an application — which runs outside the service's
# Landlock view (it writes where the service cannot) — through its helper.
#   test-session.sh SYSTEMSERVER SVC LAUNCH RECORDER ETC_DIR
. "$(dirname "$0")/../lib/cli-test.sh" launch-session
. "$(dirname "$0")/../lib/session-test.sh"
ss=$1 svc=$2 launch=$(realpath "$3") recorder=$(realpath "$4") etc=$5
. "$(dirname "$0")/xdg-fixture.sh"
cp "$etc/LaunchServer.ini" "$dir/etc/"
session_start "$ss" launch

[ -z "$(svc_pid LaunchServer)" ] || fail "LaunchServer started before its first client (Lazy=true)"
expect_rc 0 "$launch" type "$x/files/picture"
[ "$(cat "$dir/out")" = image/png ] || fail "type through the portal: $(cat "$dir/out")"
expect_rc 0 "$launch" open "$x/files/notes.txt"
pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$dir/err")
wait_for test -e "$x/out/editor.$pid" || fail "the editor did not run: $(cat "$dir/err")"
[ "$(tr '\0' '|' <"$x/out/editor.$pid")" = "$x/bin/editor|$x/files/notes.txt|" ] ||
	fail "editor argv: $(tr '\0' '|' <"$x/out/editor.$pid")"
expect_rc 0 "$launch" default text/plain
[ "$(cat "$dir/out")" = editor.desktop ] || fail "default under SystemServer: $(cat "$dir/out")"

pid=$(svc_pid LaunchServer)
[ -n "$pid" ] || fail "no LaunchServer pid"
if [ -z "${SANITIZED:-}" ]; then
	grep -q $'^Seccomp:\t2$' "/proc/$pid/status" && grep -q $'^NoNewPrivs:\t1$' "/proc/$pid/status" ||
		fail "LaunchServer is not sandboxed: $(grep -E 'Seccomp|NoNewPrivs' "/proc/$pid/status")"
fi
kill -9 "$pid"
expect_rc 0 "$launch" default image/png
[ "$(cat "$dir/out")" = viewer.desktop ] || fail "after the respawn: $(cat "$dir/out")"

"$svc" shutdown >/dev/null || fail "svc shutdown"
wait "${pids[-1]}"; rc=$?
[ $rc -eq 0 ] || fail "SystemServer exited $rc"
session_finish
