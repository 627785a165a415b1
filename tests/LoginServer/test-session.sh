#!/bin/bash
# test-session.sh — LoginServer as SystemServer runs it: from the shipped
# definition (its Socket=, SocketPermissions=, Lazy=, Pledge= as shipped;
# Arguments= and Environment= added here: a temp runtime root, and the
# pam_wrapper/nss_wrapper doubles of test-login.sh), started by the first
# greeter on the "login" portal; a login runs under the shipped Pledge=
# (which binds the sessions too), the front is confined further by itself.
#   test-session.sh SYSTEMSERVER SVC HAVEN-LOGIN ETC_DIR
# LoginServer under the sanitizers: pam_wrapper loads libpam with
# RTLD_DEEPBIND, which AddressSanitizer refuses, and LoginServer's workers
# (PAM modules, setuid, exec) do not come up under it; its wire parser is
# covered sanitized by login-fuzz-replay.
[ -z "${SANITIZED:-}" ] || { echo "SKIP: LoginServer's PAM tests do not run in sanitized builds"; exit 77; }
. "$(dirname "$0")/../lib/cli-test.sh" login-session
. "$(dirname "$0")/../lib/session-test.sh"
ss=$1 svc=$2 login=$3 etc=$4
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (the session drops to another uid)"; exit 77; }
lib=$(dirname "$(find /usr/lib -name libpam_wrapper.so 2>/dev/null | head -1)")
[ -e "$lib/libnss_wrapper.so" ] && [ -e "$lib/pam_wrapper/pam_matrix.so" ] ||
	{ echo "SKIP: libpam-wrapper / libnss-wrapper missing"; exit 77; }
mkdir -p "$dir/pam.d"
for t in auth account session; do
	echo "$t required $lib/pam_wrapper/pam_matrix.so passdb=$dir/passdb"
done >"$dir/pam.d/haven-login"
echo "alice:secret:haven-login" >"$dir/passdb"
echo "alice:x:4242:4242:Alice:/:/bin/sh" >"$dir/passwd"
echo "alice:x:4242:" >"$dir/group"
chmod 755 "$dir"
{
	cat "$etc/LoginServer.ini"
	echo "Arguments=--runtime-root $dir/rt --fail-delay-ms 100"
	# One per line: an INI line holds at most 198 bytes.
	echo "Environment=LD_PRELOAD=$lib/libpam_wrapper.so:$lib/libnss_wrapper.so PAM_WRAPPER=1"
	# pam_wrapper keeps its copy of the PAM dir (pam-copies.sh says why).
	echo "Environment=PAM_WRAPPER_SERVICE_DIR=$dir/pam.d PAM_WRAPPER_KEEP_DIR=1"
	echo "Environment=NSS_WRAPPER_PASSWD=$dir/passwd NSS_WRAPPER_GROUP=$dir/group"
} >"$dir/etc/LoginServer.ini"
. "$(dirname "$0")/pam-copies.sh"
trap 'remove_pam_copies; cleanup' EXIT
session_start "$ss" login

[ -z "$(svc_pid LoginServer)" ] || fail "LoginServer started before its first client (Lazy=true)"
expect_rc 0 sh -c "echo secret | '$login' --command 'id -u; echo \$XDG_RUNTIME_DIR' alice"
[ "$(cat "$dir/out")" = "4242
$dir/rt/4242" ] || fail "login through the portal: $(cat "$dir/out") / $(cat "$dir/err")"
expect_rc 1 sh -c "echo wrong | '$login' --command true alice"
pid=$(svc_pid LoginServer)
[ -n "$pid" ] || fail "no LoginServer pid"
if [ -z "${SANITIZED:-}" ] && [ -n "$pid" ]; then
	grep -q $'^Seccomp:\t2$' "/proc/$pid/status" && grep -q $'^NoNewPrivs:\t1$' "/proc/$pid/status" ||
		fail "LoginServer is not sandboxed: $(grep -E 'Seccomp|NoNewPrivs' "/proc/$pid/status")"
fi
"$svc" shutdown >/dev/null || fail "svc shutdown"
wait "$sspid"; rc=$?
[ $rc -eq 0 ] || fail "SystemServer exited $rc"
session_finish
