#!/bin/bash
# test-real-user.sh — a real login, as real root: a throwaway user made
# with useradd (random name), its password set with chpasswd, logged in
# through LoginServer with the shipped etc/pam.d/haven-login and Debian's
# own common-auth/account/session (real pam_unix against /etc/shadow).
# PAM reads only /etc/pam.d, so the shipped file and the common-* it
# includes are copied to a temp dir that pam_wrapper points libpam at
# (PAM_WRAPPER_SERVICE_DIR; the modules are the machine's own). The user
# is removed (userdel -r) in the exit trap, whatever happens.
#   test-real-user.sh LOGINSERVER HAVEN-LOGIN PAM_FILE
# LoginServer under the sanitizers: pam_wrapper loads libpam with
# RTLD_DEEPBIND, which AddressSanitizer refuses, and LoginServer's workers
# (PAM modules, setuid, exec) do not come up under it; its wire parser is
# covered sanitized by login-fuzz-replay.
[ -z "${SANITIZED:-}" ] || { echo "SKIP: LoginServer's PAM tests do not run in sanitized builds"; exit 77; }
. "$(dirname "$0")/../lib/cli-test.sh" login-real
server=$1 login=$2 pamfile=$3
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (useradd)"; exit 77; }
for t in useradd userdel chpasswd; do
	command -v $t >/dev/null || { echo "SKIP: no $t"; exit 77; }
done
wrapper=$(find /usr/lib -name libpam_wrapper.so 2>/dev/null | head -1)
[ -n "$wrapper" ] || { echo "SKIP: no libpam_wrapper.so (libpam-wrapper)"; exit 77; }
for f in common-auth common-account common-session; do
	[ -r "/etc/pam.d/$f" ] || { echo "SKIP: no /etc/pam.d/$f"; exit 77; }
done

user=hvlogin$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
pass=pw-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
getent passwd "$user" >/dev/null && { echo "SKIP: $user exists"; exit 77; }
remove_user() { userdel -r "$user" >/dev/null 2>&1; getent passwd "$user" >/dev/null && echo "LEFT: user $user"; }
trap 'remove_user; cleanup' EXIT
useradd -m -s /bin/sh "$user" || { echo "useradd failed"; exit 1; }
echo "$user:$pass" | chpasswd || fail "chpasswd"
uid=$(id -u "$user")

mkdir -p "$dir/pam.d"
cp "$pamfile" "$dir/pam.d/haven-login"
cp /etc/pam.d/common-auth /etc/pam.d/common-account /etc/pam.d/common-session "$dir/pam.d/"
chmod 755 "$dir"
sock=$HAVEN_PORTAL_DIR/login
. "$(dirname "$0")/pam-copies.sh"
trap 'remove_user; remove_pam_copies; cleanup' EXIT
env LD_PRELOAD="$wrapper" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$dir/pam.d" PAM_WRAPPER_KEEP_DIR=1 \
	"$server" --socket "$sock" --runtime-root "$dir/rt" --fail-delay-ms 100 --backoff-ms 0 2>"$dir/server.log" &
pids+=($!)
wait_for test -S "$sock" || { echo "LoginServer did not start: $(cat "$dir/server.log")"; exit 1; }

expect_rc 0 sh -c "echo '$pass' | '$login' --socket '$sock' --command 'id -un; id -u; echo \$XDG_RUNTIME_DIR; stat -c %a:%U \$XDG_RUNTIME_DIR' '$user'"
want="$user
$uid
$dir/rt/$uid
700:$user"
[ "$(cat "$dir/out")" = "$want" ] || fail "real session printed: $(cat "$dir/out") / $(cat "$dir/err")"
wait_for test ! -e "$dir/rt/$uid" || fail "runtime dir left after the session"
expect_rc 1 sh -c "echo wrong | '$login' --socket '$sock' --command true '$user'"
grep -qx "haven-login: authentication failed" "$dir/err" || fail "wrong password: $(cat "$dir/err")"
expect_rc 1 sh -c "echo wrong | '$login' --socket '$sock' --command true '${user}x'"
grep -qx "haven-login: authentication failed" "$dir/err" || fail "unknown user: $(cat "$dir/err")"
[ "$fails" -eq 0 ] || grep -v PWRAP "$dir/server.log" >&2
finish
