#!/bin/bash
# test-nss.sh — libnss_haven.so.2: unmodified programs (getent, python3's
# getaddrinfo) resolve through LookupServer once nsswitch.conf says
# "hosts: haven". The machine's nsswitch.conf is never edited: each query
# runs in a private mount namespace (unshare -m) with a copy bind-mounted
# over it, the module found through LD_LIBRARY_PATH. LookupServer answers
# from a hosts file of its own (no network).
#   test-nss.sh LOOKUPSERVER LOOKUP NSS_MODULE_DIR
. "$(dirname "$0")/../lib/cli-test.sh" nss
server=$(realpath "$1") lookup=$(realpath "$2") nssdir=$(realpath "$3")
[ -e "$nssdir/libnss_haven.so.2" ] || { echo "SKIP: no libnss_haven.so.2 in $nssdir"; exit 77; }
unshare -m true 2>/dev/null || { echo "SKIP: unshare -m is not permitted here"; exit 77; }
# A sanitized module cannot load into getent or python3, which are not.
[ -z "${SANITIZED:-}" ] || { echo "SKIP: libnss_haven.so.2 built with sanitizers loads only into sanitized programs"; exit 77; }

cat >"$dir/hosts" <<'EOF'
192.0.2.10 www.haven.test web.haven.test
2001:db8::10 www.haven.test
2001:db8::20 six.haven.test
192.0.2.30 four.haven.test
EOF
# A confined service cannot run LeakSanitizer (docs/sandbox.md).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" start_service "$server" lookup \
	--hosts "$dir/hosts" --nameserver 127.0.0.1:9 --timeout 1000
lookup_pid=${pids[-1]}
wait_for test -S "$HAVEN_PORTAL_DIR/lookup" || fail "LookupServer did not start: $(cat "$dir/server.log")"

# nss SOURCES COMMAND...: COMMAND with "hosts: SOURCES" as the only hosts
# line, output in $dir/out, errors in $dir/err, exit code returned.
nss() {
	local sources=$1; shift
	printf 'passwd: files\ngroup: files\nhosts: %s\n' "$sources" >"$dir/nsswitch.conf"
	unshare -m bash -c 'mount --bind "$0" /etc/nsswitch.conf && exec "$@"' "$dir/nsswitch.conf" \
		env LD_LIBRARY_PATH="$nssdir" HAVEN_PORTAL_DIR="$HAVEN_PORTAL_DIR" "$@" >"$dir/out" 2>"$dir/err"
}
# The machine's file is untouched by all of this.
before=$(sha256sum /etc/nsswitch.conf)

nss haven getent hosts www.haven.test || fail "getent hosts: rc $?: $(cat "$dir/err")"
grep -Eq '^2001:db8::10 +www\.haven\.test$' "$dir/out" || fail "getent hosts (AAAA first): $(cat "$dir/out")"
nss haven getent ahostsv4 web.haven.test || fail "getent ahostsv4: $(cat "$dir/err")"
grep -Eq '^192\.0\.2\.10 +STREAM web\.haven\.test$' "$dir/out" || fail "getent ahostsv4: $(cat "$dir/out")"
nss haven getent ahosts www.haven.test || fail "getent ahosts: $(cat "$dir/err")"
grep -q '^2001:db8::10 ' "$dir/out" && grep -q '^192.0.2.10 ' "$dir/out" || fail "getent ahosts, both families: $(cat "$dir/out")"
# What an unmodified program's getaddrinfo() returns is what LookupServer
# returns through its own client.
"$lookup" --socket "$HAVEN_PORTAL_DIR/lookup" --json www.haven.test >"$dir/lookup.json" || fail "lookup --json"
nss haven python3 -c '
import json, socket, sys
got = sorted({ai[4][0] for ai in socket.getaddrinfo("www.haven.test", 80, proto=socket.IPPROTO_TCP)})
want = sorted({r["value"] for a in json.load(open(sys.argv[1])) for r in a["records"]})
assert got == want, (got, want)
print(" ".join(got))' "$dir/lookup.json" || fail "getaddrinfo vs lookup: $(cat "$dir/out" "$dir/err")"
# gethostbyname2 for each family, and a name with only one.
nss haven getent hosts four.haven.test || fail "getent hosts four: $(cat "$dir/err")"
grep -Eq '^192\.0\.2\.30 +four\.haven\.test$' "$dir/out" || fail "an IPv4-only name: $(cat "$dir/out")"
nss haven python3 -c 'import socket; print(socket.getaddrinfo("six.haven.test", None, socket.AF_INET6)[0][4][0])' ||
	fail "AF_INET6 getaddrinfo: $(cat "$dir/err")"
[ "$(cat "$dir/out")" = 2001:db8::20 ] || fail "AF_INET6: $(cat "$dir/out")"
nss haven python3 -c 'import socket; socket.getaddrinfo("six.haven.test", None, socket.AF_INET)' &&
	fail "an IPv6-only name resolved for AF_INET: $(cat "$dir/out")"
# Reverse, through gethostbyaddr.
nss haven getent hosts 192.0.2.30 || fail "getent hosts ADDRESS: $(cat "$dir/err")"
grep -Eq '^192\.0\.2\.30 +four\.haven\.test$' "$dir/out" || fail "reverse: $(cat "$dir/out")"
# A name nobody knows: getent's "not found" (2), not an error.
nss haven getent hosts nowhere.haven.test
rc=$?
[ $rc -eq 2 ] || fail "an unknown name: getent rc $rc, expected 2: $(cat "$dir/out" "$dir/err")"

# LookupServer gone: UNAVAIL, so "[UNAVAIL=continue] files" falls back to
# /etc/hosts (localhost is in every one); without it, nothing resolves.
kill "$lookup_pid"
wait "$lookup_pid" 2>/dev/null
nss 'haven [UNAVAIL=continue] files' getent hosts localhost || fail "no fallback to files: $(cat "$dir/err")"
grep -q localhost "$dir/out" || fail "fallback to files: $(cat "$dir/out")"
nss haven getent hosts www.haven.test && fail "resolved with LookupServer gone: $(cat "$dir/out")"

[ "$(sha256sum /etc/nsswitch.conf)" = "$before" ] || fail "the machine's nsswitch.conf changed"
finish
