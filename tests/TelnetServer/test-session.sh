#!/bin/bash
# test-session.sh — TelnetServer under a real SystemServer (--user) from
# the shipped definition: an instance per connection on its ListenStream=
# (moved to a free port), Debian's telnet client in tmux through it
# (test_telnet.py tmux PORT ...), and each instance gone after `exit` with
# a clean exit (the manager logs any other).
#   1. As shipped (Pledge=, User=nobody, no Arguments=: LoginServer's
#      "login" portal), with a LoginServer of the test's own on that portal
#      under PAM's test doubles (as tests/LoginServer): the login prompts,
#      a wrong password refused, the session as the user. Needs root.
#   2. --no-auth: the definition loses Pledge= and User= (the shell is the
#      instance's child and would inherit both).
#   test-session.sh SYSTEMSERVER SVC TEST_TELNET_PY ETC_DIR LOGINSERVER
. "$(dirname "$0")/../lib/cli-test.sh" telnet-session
. "$(dirname "$0")/../lib/session-test.sh"
ss=$1 svc=$2 driver=$3 etc=$4 loginserver=$5
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
grep -q '^ListenStream=127.0.0.1:2323$' "$etc/TelnetServer.ini" || fail "the shipped port is 127.0.0.1:2323"
grep -q '^AcceptSocketConnections=true$' "$etc/TelnetServer.ini" || fail "one instance per connection"
sed -e "s/^ListenStream=.*/ListenStream=127.0.0.1:$port/" "$etc/TelnetServer.ini" >"$dir/etc/TelnetServer.ini"
chmod 755 "$dir"
session_start "$ss"
# Listening, seen without connecting (a connection would start an instance).
listening() { awk -v p="$(printf ':%04X' "$port")" '$2 ~ p"$" && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp; }
wait_for listening || fail "nothing listens on $port"

# The instance exits once the connection has closed; a failure would be logged.
instances_clean() {
	wait_for sh -c "! \"$svc\" status TelnetServer --json | grep -q '\"pid\": [1-9]'" ||
		fail "the instance did not exit: $("$svc" status TelnetServer --json)"
	grep -q 'TelnetServer: instance' "$dir/ss.log" && fail "an instance failed: $(cat "$dir/ss.log")"
}

lib=/usr/lib/x86_64-linux-gnu
matrix=$lib/pam_wrapper/pam_matrix.so
if [ "$(id -u)" -eq 0 ] && [ -e "$lib/libpam_wrapper.so" ] && [ -e "$lib/libnss_wrapper.so" ] && [ -e "$matrix" ]; then
	mkdir -p "$dir/pam.d" "$dir/home"
	chmod 755 "$dir/home"
	for t in auth account session; do echo "$t required $matrix passdb=$dir/passdb"; done >"$dir/pam.d/haven-login"
	printf 'alice:s3cret-word:haven-login\n' >"$dir/passdb"
	printf 'alice:x:4242:4242:Alice:%s:/bin/bash\n' "$dir/home" >"$dir/passwd"
	printf 'alice:x:4242:\n' >"$dir/group"
	# A sanitized LoginServer needs its ASan runtime first among the preloads.
	asan=$(ldd "$loginserver" | awk '/libasan/ { print $3 ":" }')
	env LD_PRELOAD="$asan$lib/libpam_wrapper.so:$lib/libnss_wrapper.so" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$dir/pam.d" NSS_WRAPPER_PASSWD="$dir/passwd" NSS_WRAPPER_GROUP="$dir/group" \
		"$loginserver" --socket "$portal/login" --runtime-root "$dir/rt" --fail-delay-ms 100 \
		--backoff-ms 0 2>"$dir/ls.log" &
	pids+=($!)
	wait_for test -S "$portal/login" || fail "LoginServer did not start: $(cat "$dir/ls.log")"
	# The instance runs as nobody (User=): LoginServer's socket as its
	# shipped SocketPermissions=, and a way to it through the session's
	# runtime dir (a system manager's /run/haven/portal is open anyway).
	chmod 0666 "$portal/login"
	chmod o+x "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/haven" "$portal"
	python3 "$driver" tmux "$port" alice s3cret-word 4242 >"$dir/out" 2>&1 ||
		fail "a login through the shipped definition: $(cat "$dir/out") $(cat "$dir/ls.log")"
	instances_clean
else
	echo "login through LoginServer skipped: needs root and libpam-wrapper, libnss-wrapper"
fi

# --no-auth, twice: an instance per connection.
{
	sed -e "s/^ListenStream=.*/ListenStream=127.0.0.1:$port/" -e '/^Pledge=/d' -e '/^User=/d' \
		"$etc/TelnetServer.ini"
	echo "Arguments=--no-auth"
} >"$dir/etc/TelnetServer.ini"
"$svc" reload >/dev/null || fail "svc reload"
for n in 1 2; do
	python3 "$driver" tmux "$port" >"$dir/out" 2>&1 || fail "--no-auth connection $n: $(cat "$dir/out")"
	instances_clean
done
"$svc" shutdown >/dev/null || fail "svc shutdown"
wait "${sspid}"; rc=$?
[ $rc -eq 0 ] || fail "SystemServer exited $rc"
session_finish
