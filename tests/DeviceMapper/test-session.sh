#!/bin/bash
# test-session.sh — DeviceMapper as the system runs it: under a real
# SystemServer from the shipped definition (Socket=, Pledge=, Unveil= as
# shipped), started with the manager (not lazily), confined, answering
# `devices` through its portal, and respawned after a SIGKILL. It runs
# with no rules (the definition's default rules directory does not exist
# here) and without --make-nodes: it reads /sys and changes nothing.
#   test-session.sh SYSTEMSERVER SVC DEVICES ETC_DIR
. "$(dirname "$0")/../lib/cli-test.sh" devices-session
. "$(dirname "$0")/../lib/session-test.sh"
ss=$1 svc=$2 devices=$3 etc=$4
[ -d /etc/haven/devices ] && { echo "SKIP: this machine has rules in /etc/haven/devices"; exit 77; }
cp "$etc/DeviceMapper.ini" "$dir/etc/"
session_start "$ss" devices

# (a function: wait_for's arguments would be expanded only once)
running_other_than() { local p; p=$(svc_pid DeviceMapper); [ -n "$p" ] && [ "$p" != "$1" ]; }
wait_for running_other_than 0 || fail "DeviceMapper did not start with the session"
expect_rc 0 "$devices" settle
expect_rc 0 "$devices" info /sys/class/mem/null
grep -qx "E: DEVNAME=null" "$dir/out" || fail "info through the portal: $(cat "$dir/out")"
expect_rc 0 "$devices" list --subsystem mem
grep -q "^mem  *zero  */dev/zero " "$dir/out" || fail "list through the portal: $(cat "$dir/out")"

pid=$(svc_pid DeviceMapper)
if [ -z "${SANITIZED:-}" ]; then
	grep -q $'^Seccomp:\t2$' "/proc/$pid/status" && grep -q $'^NoNewPrivs:\t1$' "/proc/$pid/status" ||
		fail "DeviceMapper is not sandboxed: $(grep -E 'Seccomp|NoNewPrivs' "/proc/$pid/status")"
fi
kill -9 "$pid"
wait_for running_other_than "$pid" || fail "not respawned"
expect_rc 0 "$devices" info /sys/class/mem/zero
grep -qx "E: DEVNAME=zero" "$dir/out" || fail "info after the respawn: $(cat "$dir/out")"

"$svc" shutdown >/dev/null || fail "svc shutdown"
wait "${pids[-1]}"; rc=$?
[ $rc -eq 0 ] || fail "SystemServer exited $rc"
session_finish
