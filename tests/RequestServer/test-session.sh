#!/bin/bash
# test-session.sh — RequestServer as a session runs it: under a real
# SystemServer (--user) from the shipped definitions (Socket=, Pledge= as
# shipped) beside the shipped LookupServer, against nginx on loopback.
# The shared instance starts on first use, is confined, keeps cookies
# across its clients' connections, refuses file:// (no root given) and is
# respawned after a SIGKILL; the isolated one is a process per connection
# that shares no cookie with anyone.
#   test-session.sh SYSTEMSERVER SVC REQUEST ETC_DIR
. "$(dirname "$0")/../lib/cli-test.sh" request-session
. "$(dirname "$0")/../lib/session-test.sh"
ss=$1 svc=$2 request=$3 etc=$4
. "$(dirname "$0")/nginx-fixture.sh"
printf '127.0.0.1 good.test\n' >"$dir/hosts"
cp "$etc/RequestServer.ini" "$dir/etc/"
{
	cat "$etc/LookupServer.ini"
	echo "Arguments=--nameserver 127.0.0.1:9 --hosts $dir/hosts"
} >"$dir/etc/LookupServer.ini"
session_start "$ss" request-isolated
r() { timeout 60 "$request" "$@"; }
H=http://good.test:$http

[ -z "$(svc_pid RequestServer)" ] || fail "RequestServer started before its first client (Lazy=true)"
expect_rc 0 r "$H/hello.txt"
[ "$(cat "$dir/out")" = hello ] || fail "through the portal and LookupServer: $(cat "$dir/out" "$dir/err")"
expect_rc 0 r --cacert "$dir/ca.pem" "https://good.test:$tls13/hello.txt"
[ "$(cat "$dir/out")" = hello ] || fail "HTTPS under SystemServer: $(cat "$dir/err")"
expect_rc 10 r "file://$dir/www/hello.txt"
pid=$(svc_pid RequestServer)
[ -n "$pid" ] || fail "no RequestServer pid"
grep -q $'^Seccomp:\t2$' "/proc/$pid/status" && grep -q $'^NoNewPrivs:\t1$' "/proc/$pid/status" ||
	fail "RequestServer is not sandboxed: $(grep -E 'Seccomp|NoNewPrivs' "/proc/$pid/status")"

# Cookies: the shared instance keeps them across connections, an isolated
# instance (a fresh process per connection) never sees them.
expect_rc 0 r "$H/cookie/set"
expect_rc 0 r "$H/cookie/show"
grep -q "cookie=session=s3cr3t" "$dir/out" || fail "shared instance lost the cookie: $(cat "$dir/out")"
expect_rc 0 r --socket "$portal/request-isolated" "$H/cookie/show"
grep -q "^cookie=$" "$dir/out" || fail "an isolated instance saw the shared cookie: $(cat "$dir/out")"
expect_rc 0 r --socket "$portal/request-isolated" "$H/cookie/set"
expect_rc 0 r --socket "$portal/request-isolated" "$H/cookie/show"
grep -q "^cookie=$" "$dir/out" || fail "an isolated instance kept a cookie for the next connection: $(cat "$dir/out")"

kill -9 "$pid"
# (a SIGKILL saves no cookie jar: the next one is set after the respawn)
expect_rc 0 r "$H/hello.txt"
[ "$(cat "$dir/out")" = hello ] || fail "after the respawn: $(cat "$dir/err")"
wait_for svc_respawned RequestServer "$pid" || fail "not respawned"

expect_rc 0 r "$H/cookie/both"
"$svc" shutdown >/dev/null || fail "svc shutdown"
wait "${pids[-1]}"; rc=$?
jar=$XDG_DATA_HOME/haven/RequestServer/cookies.txt
grep -q "keep.*forever" "$jar" && ! grep -q "sess" "$jar" ||
	fail "the shared instance's jar at a clean stop: $(cat "$jar" 2>&1)"
[ $rc -eq 0 ] || fail "SystemServer exited $rc"
session_finish
