#!/bin/bash
# test-session.sh — TelnetServer under a real SystemServer (--user) from
# the shipped definition: an instance per connection on its ListenStream=
# (moved to a free port), Debian's telnet client in tmux through it
# (test_telnet.py tmux PORT), and the instance gone after `exit` with a
# clean exit (the manager logs any other). Until LoginServer is in the
# session, --no-auth: then the definition loses Pledge= and User= (the
# shell is the instance's child and would inherit both).
#   test-session.sh SYSTEMSERVER SVC TEST_TELNET_PY ETC_DIR
. "$(dirname "$0")/../lib/cli-test.sh" telnet-session
. "$(dirname "$0")/../lib/session-test.sh"
ss=$1 svc=$2 driver=$3 etc=$4
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
grep -q '^ListenStream=127.0.0.1:2323$' "$etc/TelnetServer.ini" || fail "the shipped port is 127.0.0.1:2323"
grep -q '^AcceptSocketConnections=true$' "$etc/TelnetServer.ini" || fail "one instance per connection"
{
	sed -e "s/^ListenStream=.*/ListenStream=127.0.0.1:$port/" -e '/^Pledge=/d' -e '/^User=/d' \
		"$etc/TelnetServer.ini"
	echo "Arguments=--no-auth"
} >"$dir/etc/TelnetServer.ini"
session_start "$ss"
wait_for python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" ||
	fail "nothing listens on $port"
python3 "$driver" tmux "$port" >"$dir/out" 2>&1 || fail "the telnet session: $(cat "$dir/out")"
# The instance exits once the connection has closed; a failure would be logged.
wait_for sh -c "! \"$svc\" status TelnetServer --json | grep -q '\"pid\": [1-9]'" ||
	fail "the instance did not exit: $("$svc" status TelnetServer --json)"
grep -q 'TelnetServer: instance' "$dir/ss.log" && fail "an instance failed: $(cat "$dir/ss.log")"
python3 "$driver" tmux "$port" >"$dir/out" 2>&1 || fail "a second connection: $(cat "$dir/out")"
"$svc" shutdown >/dev/null || fail "svc shutdown"
wait "${pids[-1]}"; rc=$?
[ $rc -eq 0 ] || fail "SystemServer exited $rc"
session_finish
