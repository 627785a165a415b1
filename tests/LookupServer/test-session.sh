#!/bin/bash
# test-session.sh — LookupServer as a session runs it: under a real
# SystemServer (--user) from the shipped definition (its Socket= and
# Pledge= as shipped; Arguments= point it at the test's nsd; the service
# unveils what they name itself), started lazily by the first lookup,
# confined, and respawned after a SIGKILL with lookups going on.
#   test-session.sh SYSTEMSERVER SVC LOOKUP ETC_DIR
. "$(dirname "$0")/../lib/cli-test.sh" lookup-session
. "$(dirname "$0")/../lib/session-test.sh"
ss=$1 svc=$2 lookup=$3 etc=$4
. "$(dirname "$0")/nsd-fixture.sh"
printf '192.0.2.200 pinned.example.test\n' >"$dir/hosts"
{
	cat "$etc/LookupServer.ini"
	echo "Arguments=--nameserver 127.0.0.1:$port --hosts $dir/hosts --trust-anchor $dir/anchors"
} >"$dir/etc/LookupServer.ini"
session_start "$ss" lookup

[ -z "$(svc_pid LookupServer)" ] || fail "LookupServer started before its first client (Lazy=true)"
expect_rc 0 "$lookup" www.example.test A
grep -q "192.0.2.1$" "$dir/out" || fail "lookup through the portal: $(cat "$dir/out")"
expect_rc 0 "$lookup" --json signed.test SOA
grep -q '"validation":"secure"' "$dir/out" || fail "not secure under SystemServer: $(cat "$dir/out")"
expect_rc 4 "$lookup" www.broken.test A
expect_rc 0 "$lookup" pinned.example.test A
grep -q "192.0.2.200$" "$dir/out" || fail "hosts file under SystemServer: $(cat "$dir/out")"

pid=$(svc_pid LookupServer)
[ -n "$pid" ] || fail "no LookupServer pid"
grep -q $'^Seccomp:\t2$' "/proc/$pid/status" && grep -q $'^NoNewPrivs:\t1$' "/proc/$pid/status" ||
	fail "LookupServer is not sandboxed: $(grep -E 'Seccomp|NoNewPrivs' "/proc/$pid/status")"

kill -9 "$pid"
expect_rc 0 "$lookup" _sip._tcp.example.test SRV
grep -q "5060 sip.example.test.$" "$dir/out" || fail "lookup after the respawn: $(cat "$dir/out")"
wait_for svc_respawned LookupServer "$pid" || fail "not respawned"

"$svc" shutdown >/dev/null || fail "svc shutdown"
wait "${pids[-1]}"; rc=$?
[ $rc -eq 0 ] || fail "SystemServer exited $rc"
session_finish
