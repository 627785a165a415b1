#!/bin/bash
# test-login.sh — LoginServer end to end with Debian's PAM test doubles:
# pam_wrapper (PAM reads the test's own service dir, pam_matrix checks
# user:password:service) and nss_wrapper (a fake passwd/group), preloaded
# into LoginServer only. Runs as root (CI); the session's drop to the fake
# uids and the runtime directory's chown are real. Without root it skips
# (uid_wrapper's fake root cannot chown a real directory).
#   test-login.sh LOGINSERVER HAVEN-LOGIN SESSIONS PROTOCOL-TEST
# Covers: right password -> a session as the user with its runtime dir
# and environment, the command's output and exit status; wrong password
# and unknown user -> the same error; pamtester agrees on the same PAM
# file; bad names and unasked answers -> typed errors, the server serves
# on; two users' sessions at once, lock/unlock/switch/terminate, a
# session's processes ending ends it and removes the runtime dir only
# with the user's last session; another uid may not act on a session;
# per-user back-off.
# LoginServer under the sanitizers: pam_wrapper loads libpam with
# RTLD_DEEPBIND, which AddressSanitizer refuses, and LoginServer's workers
# (PAM modules, setuid, exec) do not come up under it; its wire parser is
# covered sanitized by login-fuzz-replay.
[ -z "${SANITIZED:-}" ] || { echo "SKIP: LoginServer's PAM tests do not run in sanitized builds"; exit 77; }
. "$(dirname "$0")/../lib/cli-test.sh" login
server=$1 login=$2 sessions=$3 proto=$4
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (the session drops to other uids)"; exit 77; }
lib=/usr/lib/x86_64-linux-gnu
[ -e "$lib/libpam_wrapper.so" ] || lib=$(dirname "$(find /usr/lib -name libpam_wrapper.so | head -1)")
matrix=$lib/pam_wrapper/pam_matrix.so
for f in "$lib/libpam_wrapper.so" "$lib/libnss_wrapper.so" "$matrix"; do
	[ -e "$f" ] || { echo "SKIP: $f missing (libpam-wrapper, libnss-wrapper)"; exit 77; }
done

mkdir -p "$dir/pam.d" "$dir/home"
for t in auth account session; do echo "$t required $matrix passdb=$dir/passdb"; done >"$dir/pam.d/haven-login"
printf 'alice:secret:haven-login\nbob:hunter2:haven-login\ncarol:x:haven-login\n' >"$dir/passdb"
printf 'alice:x:4242:4242:Alice:%s:/bin/sh\nbob:x:4343:4343:Bob:%s:/bin/sh\n' "$dir/home" "$dir/home" >"$dir/passwd"
printf 'alice:x:4242:\nbob:x:4343:\n' >"$dir/group"
chmod 755 "$dir" "$dir/home"
# A command under the doubles (an array, so `"${wrapped[@]}" X &` leaves
# X's own pid in $!: env execs it).
wrapped=(env LD_PRELOAD="$lib/libpam_wrapper.so:$lib/libnss_wrapper.so" PAM_WRAPPER=1
	PAM_WRAPPER_SERVICE_DIR="$dir/pam.d" PAM_WRAPPER_KEEP_DIR=1 NSS_WRAPPER_PASSWD="$dir/passwd"
	NSS_WRAPPER_GROUP="$dir/group")
. "$(dirname "$0")/pam-copies.sh"
trap 'remove_pam_copies; cleanup' EXIT
rt=$dir/rt
# wait for a background greeter, bounded (a hang fails the test, not CI).
reap() {
	wait_for sh -c "ps -o stat= -p $1 | grep -q '^Z' || ! kill -0 $1 2>/dev/null" ||
		{ fail "pid $1 still running"; kill -9 "$1"; }
	wait "$1"
}
sock=$HAVEN_PORTAL_DIR/login
"${wrapped[@]}" "$server" --socket "$sock" --runtime-root "$rt" --fail-delay-ms 100 --backoff-ms 0 2>"$dir/server.log" &
pids+=($!)
wait_for test -S "$sock" || { echo "LoginServer did not start: $(cat "$dir/server.log")"; exit 1; }

# --- right password: the session runs as alice, with her runtime dir ------
expect_rc 0 sh -c "echo secret | '$login' --socket '$sock' --command 'id -u; id -g; echo \$XDG_RUNTIME_DIR; stat -c %a:%u:%F \$XDG_RUNTIME_DIR; echo \$HOME \$USER \$LOGNAME; echo sid=\$HAVEN_SESSION_ID' alice"
want="4242
4242
$rt/4242
700:4242:directory
$dir/home alice alice
sid=1"
[ "$(cat "$dir/out")" = "$want" ] || fail "alice's session printed: $(cat "$dir/out") / $(cat "$dir/err")"
wait_for test ! -e "$rt/4242" || fail "alice's runtime dir stays after her only session ended"
# Without a working login the rest would only wait out its bounds.
[ "$fails" -eq 0 ] || { cat "$dir/server.log" >&2; finish; }
expect_rc 7 sh -c "echo secret | '$login' --socket '$sock' --command 'exit 7' alice"
expect_rc 0 sh -c "echo secret | '$login' --socket '$sock' --env FOO=bar --env HOME=/evil --command 'echo \$FOO \$HOME' alice"
[ "$(cat "$dir/out")" = "bar $dir/home" ] || fail "greeter env: FOO set, HOME kept: $(cat "$dir/out")"

# --- wrong password and unknown user: the same answer ----------------------
expect_rc 1 sh -c "echo wrong | '$login' --socket '$sock' --command true alice"
wrong=$(cat "$dir/err")
expect_rc 1 sh -c "echo wrong | '$login' --socket '$sock' --command true nosuchuser"
unknown=$(cat "$dir/err")
[ "$wrong" = "haven-login: authentication failed" ] || fail "wrong password: '$wrong'"
[ "$wrong" = "$unknown" ] || fail "unknown user told apart: '$wrong' vs '$unknown'"

# --- pamtester, on the same PAM file, agrees --------------------------------
for case in "alice secret 0" "alice wrong 1" "nosuchuser wrong 1" "bob hunter2 0"; do
	set -- $case
	echo "$2" | "${wrapped[@]}" pamtester haven-login "$1" authenticate >/dev/null 2>&1
	pt=$(( $? != 0 ))
	echo "$2" | "$login" --socket "$sock" --command true "$1" >/dev/null 2>&1
	lg=$(( $? != 0 ))
	[ "$pt" = "$3" ] && [ "$lg" = "$3" ] || fail "$1/$2: pamtester failed=$pt, LoginServer failed=$lg, expected $3"
done

# --- bad input ----------------------------------------------------------------
expect_rc 1 "$login" --socket "$sock" $'al\x01ice' </dev/null
grep -q "control character" "$dir/err" || fail "control character: $(cat "$dir/err")"
expect_rc 1 "$login" --socket "$sock" "$(head -c 10000 /dev/zero | tr '\0' a)" </dev/null
grep -q "longer than 256" "$dir/err" || fail "10,000-byte name: $(cat "$dir/err")"
expect_rc 2 "$login" --socket "$sock"
expect_rc 2 "$sessions" --socket "$sock" frobnicate
expect_rc 2 "$sessions" --socket "$sock" lock notanumber
expect_rc 0 "$proto" "$sock"
[ -s "$dir/err" ] && fail "protocol test: $(cat "$dir/err")"
expect_rc 0 sh -c "echo secret | '$login' --socket '$sock' --command 'echo still' alice"
[ "$(cat "$dir/out")" = "still" ] || fail "not serving after bad input: $(cat "$dir/out") $(cat "$dir/err")"

# --- two users at once: list, lock, unlock, switch, terminate ----------------
json() { "$sessions" --socket "$sock" --json list; }
echo secret | "$login" --socket "$sock" --command 'sleep 1000' alice >"$dir/alice.out" 2>&1 &
apid=$!
echo hunter2 | "$login" --socket "$sock" --command 'sleep 1000' bob >"$dir/bob.out" 2>&1 &
bpid=$!
pids+=($apid $bpid)
wait_for sh -c "'$sessions' --socket '$sock' --json list | grep -o '\"id\"' | wc -l | grep -qx 2" ||
	fail "two sessions listed: $(json)"
aid=$(json | grep -o '"id":[0-9]*,"uid":4242' | cut -d: -f2 | cut -d, -f1)
bid=$(json | grep -o '"id":[0-9]*,"uid":4343' | cut -d: -f2 | cut -d, -f1)
[ -n "$aid" ] && [ -n "$bid" ] || fail "ids of alice's and bob's sessions: $(json)"
[ -d "$rt/4242" ] && [ -d "$rt/4343" ] || fail "both runtime dirs exist: $(ls "$rt")"
expect_rc 0 "$sessions" --socket "$sock" lock "$aid"
json | grep -q "\"id\":$aid,[^}]*\"locked\":true" || fail "lock: $(json)"
expect_rc 0 "$sessions" --socket "$sock" unlock "$aid"
json | grep -q "\"id\":$aid,[^}]*\"locked\":false" || fail "unlock: $(json)"
expect_rc 0 "$sessions" --socket "$sock" switch "$bid"
json | grep -q "\"id\":$bid,[^}]*\"foreground\":true" || fail "switch: $(json)"
json | grep -q "\"id\":$aid,[^}]*\"foreground\":false" || fail "switch moved the foreground: $(json)"
expect_rc 0 "$sessions" --socket "$sock" list
grep -q "^$aid  *alice  *4242 " "$dir/out" || fail "sessions list: $(cat "$dir/out")"
# Another uid may list but not act on them.
chmod 755 "$HAVEN_PORTAL_DIR" && chmod 666 "$sock"
expect_rc 1 setpriv --reuid 65534 --regid 65534 --clear-groups "$sessions" --socket "$sock" terminate "$aid"
grep -q "not your session" "$dir/err" || fail "nobody terminating alice's session: $(cat "$dir/err")"
expect_rc 0 "$sessions" --socket "$sock" terminate "$aid"
reap "$apid"; rc=$?
[ "$rc" -eq 143 ] || fail "alice's greeter after terminate: rc $rc, $(cat "$dir/alice.out")"
wait_for test ! -e "$rt/4242" || fail "alice's runtime dir after her session was terminated"
[ -d "$rt/4343" ] || fail "bob's runtime dir went with alice's session"
expect_rc 1 "$sessions" --socket "$sock" terminate "$aid"
grep -q "no such session" "$dir/err" || fail "terminate twice: $(cat "$dir/err")"
# The session's processes ending end the session.
bsleep=$(pgrep -u 4343 -x sleep)
[ -n "$bsleep" ] && kill "$bsleep"
reap "$bpid"; rc=$?
[ "$rc" -eq 143 ] || fail "bob's greeter after his sleep was killed: rc $rc"
wait_for test ! -e "$rt/4343" || fail "bob's runtime dir after his session's process ended"
[ "$(json)" = "[]" ] || fail "sessions left: $(json)"

# --- one user twice: the runtime dir goes with the last session -------------
echo secret | "$login" --socket "$sock" --command 'sleep 1000' alice >/dev/null 2>&1 &
a1=$!
echo secret | "$login" --socket "$sock" --command 'sleep 1000' alice >/dev/null 2>&1 &
a2=$!
pids+=($a1 $a2)
wait_for sh -c "'$sessions' --socket '$sock' --json list | grep -o '\"uid\":4242' | wc -l | grep -qx 2" ||
	fail "alice's two sessions: $(json)"
ids=$(json | grep -o '"id":[0-9]*' | cut -d: -f2)
first=$(echo "$ids" | head -1) second=$(echo "$ids" | tail -1)
"$sessions" --socket "$sock" terminate "$first"
wait_for sh -c "'$sessions' --socket '$sock' --json list | grep -o '\"uid\":4242' | wc -l | grep -qx 1" ||
	fail "one of alice's sessions ended: $(json)"
[ -d "$rt/4242" ] || fail "alice's runtime dir removed while she has a session"
"$sessions" --socket "$sock" terminate "$second"
reap "$a1"; reap "$a2"
wait_for test ! -e "$rt/4242" || fail "alice's runtime dir after her last session"

# --- back-off, on a server of its own ----------------------------------------
sock2=$HAVEN_PORTAL_DIR/login-backoff
"${wrapped[@]}" "$server" --socket "$sock2" --runtime-root "$rt" --fail-delay-ms 50 --backoff-ms 60000 2>"$dir/server2.log" &
pids+=($!)
wait_for test -S "$sock2" || fail "second LoginServer did not start: $(cat "$dir/server2.log")"
expect_rc 0 "$proto" "$sock2" --backoff
[ -s "$dir/err" ] && fail "back-off: $(cat "$dir/err")"

grep -q "Bad system call\|SIGSYS" "$dir/server.log" && fail "sandbox violation: $(cat "$dir/server.log")"
[ "$fails" -eq 0 ] || cat "$dir/server.log" >&2
finish
