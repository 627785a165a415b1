#!/bin/bash
# test-session.sh — KeyboardPreferenceLoader as a session runs it: under a
# real SystemServer (--user) with the shipped ConfigServer and
# KeyboardPreferenceLoader definitions (Arguments= only keep it off this
# machine's console): started with the session, confined, the preference
# written with `keyboard set` applied without a restart, and a SIGKILL
# followed by a respawn (KeepAlive=on-failure) that applies it again.
#   test-session.sh SYSTEMSERVER SVC KEYBOARD ETC_DIR
. "$(dirname "$0")/../lib/cli-test.sh" kpl-session
. "$(dirname "$0")/../lib/session-test.sh"
ss=$1 svc=$2 kb=$3 etc=$4
cp "$etc/ConfigServer.ini" "$dir/etc/"
{ cat "$etc/KeyboardPreferenceLoader.ini"; echo "Arguments=--console none"; } >"$dir/etc/KeyboardPreferenceLoader.ini"
session_start "$ss" keyboard config
running_other_than() { local p; p=$(svc_pid KeyboardPreferenceLoader); [ -n "$p" ] && [ "$p" != "$1" ]; }
wait_for running_other_than 0 || fail "KeyboardPreferenceLoader did not start with the session"
pid=$(svc_pid KeyboardPreferenceLoader)

expect_rc 0 "$kb" set de nodeadkeys
shows() { "$kb" show >"$dir/out" 2>&1 && grep -q "$1" "$dir/out"; }
wait_for shows "^in effect: de(nodeadkeys) (applied 1 times)$" || fail "not applied: $(cat "$dir/out")"
grep -q "^console: skipped: --console none$" "$dir/out" || fail "console: $(cat "$dir/out")"
[ "$(svc_pid KeyboardPreferenceLoader)" = "$pid" ] || fail "restarted to apply a change"
if [ -z "${SANITIZED:-}" ]; then
	grep -q $'^Seccomp:\t2$' "/proc/$pid/status" && grep -q $'^NoNewPrivs:\t1$' "/proc/$pid/status" ||
		fail "not sandboxed: $(grep -E 'Seccomp|NoNewPrivs' "/proc/$pid/status")"
fi
kill -9 "$pid"
wait_for running_other_than "$pid" || fail "not respawned after SIGKILL"
wait_for shows "^in effect: de(nodeadkeys) (applied 1 times)$" || fail "not applied at the new start: $(cat "$dir/out")"

"$svc" shutdown >/dev/null || fail "svc shutdown"
wait "${pids[-1]}"; rc=$?
[ $rc -eq 0 ] || fail "SystemServer exited $rc"
session_finish
