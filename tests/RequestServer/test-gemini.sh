#!/bin/bash
# test-gemini.sh — gemini:// through RequestServer against molly-brown
# from Debian on loopback (a self-signed certificate made here, as Gemini
# servers have), and a Python TLS server for what molly-brown will not do
# (close without close_notify). Trust on first use: the first key is
# remembered in --gemini-known-hosts, a new key on the same host:port is
# refused — also by the next RequestServer process — until its line is
# removed. Never touches /etc.
#   test-gemini.sh REQUESTSERVER REQUEST
. "$(dirname "$0")/../lib/cli-test.sh" gemini
server=$(realpath "$1") request=$(realpath "$2")
MOLLY=${MOLLY:-/usr/bin/molly-brown}
[ -x "$MOLLY" ] || { echo "SKIP: no molly-brown (apt-get install molly-brown)"; exit 77; }
read -r port bad <<<"$(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')"

# cert NAME SAN: a self-signed certificate and key in $dir/NAME.{crt,key}.
cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=gemini test" -addext "subjectAltName=$2" \
		-keyout "$dir/$1.key" -out "$dir/$1.crt" 2>/dev/null || fail "openssl: no certificate $1"
}
cert first IP:127.0.0.1
cert second IP:127.0.0.1
cert other DNS:elsewhere.test

mkdir -p "$dir/docs/sub"
printf '# Hello\n=> sub/ below\n' >"$dir/docs/index.gmi"
printf 'down here\n' >"$dir/docs/sub/index.gmi"
head -c $((3 << 20)) /dev/urandom >"$dir/docs/big.bin"
# molly CERT: molly-brown on $port with that certificate.
molly() {
	[ -n "${molly_pid:-}" ] && kill "$molly_pid" 2>/dev/null && wait "$molly_pid" 2>/dev/null
	cat >"$dir/molly.conf" <<EOF
Port = $port
Hostname = "127.0.0.1"
CertPath = "$dir/$1.crt"
KeyPath = "$dir/$1.key"
DocBase = "$dir/docs"
AccessLog = "$dir/molly-access.log"
ErrorLog = "$dir/molly-error.log"
[TempRedirects]
"^/old.gmi$" = "/index.gmi"
"^/loop.gmi$" = "/loop.gmi"
EOF
	"$MOLLY" -c "$dir/molly.conf" >>"$dir/molly.out" 2>&1 &
	molly_pid=$!
	pids+=("$molly_pid")
	wait_for python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null ||
		fail "molly-brown does not listen: $(cat "$dir/molly.out" "$dir/molly-error.log" 2>/dev/null)"
}
molly first

start_rs() {
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" start_service "$server" request \
		--gemini-known-hosts "$dir/state/known" --lookup-socket "$dir/no-lookup"
	rs_pid=${pids[-1]}
}
start_rs
r() { timeout 60 "$request" "$@"; }
G=gemini://127.0.0.1:$port

# --- a page, a directory's index, a large body through a slow reader ---
expect_rc 0 r --json -o "$dir/page" $G/index.gmi
cmp -s "$dir/page" "$dir/docs/index.gmi" || fail "index.gmi differs: $(cat "$dir/page")"
grep -q '"status":20' "$dir/out" || fail "--json for a 20: $(cat "$dir/out")"
grep -q 'text/gemini' "$dir/out" || fail "no text/gemini in the response: $(cat "$dir/out")"
r $G/big.bin | (sleep 1; cat) | cmp -s - "$dir/docs/big.bin" || fail "3 MiB through a slow reader differs"
expect_rc 0 r $G/sub/
[ "$(cat "$dir/out")" = "down here" ] || fail "sub/: $(cat "$dir/out")"

# --- the key was remembered, durably -----------------------------------
grep -Eq "^127\.0\.0\.1:$port [0-9a-f]{64} [0-9]+$" "$dir/state/known" ||
	fail "no line for 127.0.0.1:$port in the known hosts: $(cat "$dir/state/known" 2>&1)"

# --- statuses are responses; redirects followed within the limit ------
expect_rc 0 r --json $G/nothing-here.gmi
grep -q '"status":51' "$dir/out" || fail "a missing page is not 51: $(cat "$dir/out")"
expect_rc 22 r --fail $G/nothing-here.gmi
expect_rc 0 r $G/old.gmi
cmp -s "$dir/out" "$dir/docs/index.gmi" || fail "the redirect was not followed: $(cat "$dir/out")"
expect_rc 0 r --json --max-redirs 0 $G/old.gmi
grep -q '"status":30' "$dir/out" || fail "--max-redirs 0: $(cat "$dir/out")"
expect_rc 7 r --max-redirs 3 $G/loop.gmi
grep -q "more than 3 redirects" "$dir/err" || fail "a redirect loop: $(cat "$dir/err")"

# --- what Gemini cannot do is refused, typed ----------------------------
expect_rc 10 r -d x $G/index.gmi
grep -q "GET only" "$dir/err" || fail "a body to gemini://: $(cat "$dir/err")"
expect_rc 8 r "$G/$(head -c 1100 /dev/zero | tr '\0' a)"

# --- trust on first use --------------------------------------------------
molly second # same host:port, another key
expect_rc 5 r $G/index.gmi
grep -q "another key than when first seen" "$dir/err" || fail "a new key was not refused: $(cat "$dir/err")"
# The next process remembers it too.
kill "$rs_pid"; wait "$rs_pid" 2>/dev/null
start_rs
expect_rc 5 r $G/index.gmi
grep -q "another key" "$dir/err" || fail "a restarted RequestServer forgot the key: $(cat "$dir/err")"
# A person who expects the change removes the line: the new key is trusted.
kill "$rs_pid"; wait "$rs_pid" 2>/dev/null
sed -i "/^127\.0\.0\.1:$port /d" "$dir/state/known"
start_rs
expect_rc 0 r $G/index.gmi
cmp -s "$dir/out" "$dir/docs/index.gmi" || fail "after removing the line: $(cat "$dir/out")"
# A certificate that does not name the host is refused even on first use.
molly other
expect_rc 5 r "gemini://127.0.0.1:$port/index.gmi"
grep -q "another key\|does not name" "$dir/err" || fail "a certificate for another name: $(cat "$dir/err")"
kill "$rs_pid"; wait "$rs_pid" 2>/dev/null
sed -i "/^127\.0\.0\.1:$port /d" "$dir/state/known"
start_rs
expect_rc 5 r "gemini://127.0.0.1:$port/index.gmi"
grep -q "does not name this host" "$dir/err" || fail "a certificate for another name, first use: $(cat "$dir/err")"

# --- a body cut short: the connection closes without close_notify -------
python3 - "$dir/first.crt" "$dir/first.key" "$bad" >"$dir/cut.out" 2>&1 <<'PY' &
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
ls = socket.create_server(("127.0.0.1", int(sys.argv[3])))
print("ready", flush=True)
while True:
    c, _ = ls.accept()
    s = ctx.wrap_socket(c, server_side=True)
    s.recv(2048)
    s.sendall(b"20 text/plain\r\n" + b"x" * 1000)
    s.close()  # no unwrap(): the TCP connection ends without close_notify
PY
pids+=($!)
wait_for grep -q ready "$dir/cut.out" || fail "the cutting server did not start: $(cat "$dir/cut.out")"
expect_rc 8 r "gemini://127.0.0.1:$bad/"
grep -q "without TLS close_notify" "$dir/err" || fail "a cut body passed as whole: $(cat "$dir/err")"

# After all of that the service still serves.
molly first
kill "$rs_pid"; wait "$rs_pid" 2>/dev/null
rm -f "$dir/state/known"
start_rs
expect_rc 0 r $G/index.gmi
finish
