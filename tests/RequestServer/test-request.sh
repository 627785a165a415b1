#!/bin/bash
# test-request.sh — RequestServer and `request` against nginx from Debian
# on loopback (nginx-fixture.sh: HTTP/1.1, HTTPS with TLS 1.2 and 1.3
# forced in turn, a test CA made here), names through a LookupServer with
# a hosts file of its own, and a hostile server (hostile-server.py). Each
# failure class is checked by its exit code and its words; after the
# hostile ones the service still serves. Never touches /etc.
#   test-request.sh REQUESTSERVER REQUEST LOOKUPSERVER [TEST-REQUEST-API]
. "$(dirname "$0")/../lib/cli-test.sh" request
server=$1 request=$2 lookupserver=$3 api=${4:-}
. "$(dirname "$0")/nginx-fixture.sh"

printf '127.0.0.1 good.test www.good.test\n' >"$dir/hosts"
# A confined service cannot run LeakSanitizer (docs/sandbox.md): under
# ASan it would die of SIGSYS at exit.
start_rs() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" start_service "$@"; }
# Port 9 on loopback: nothing answers there, so only the hosts file does.
start_rs "$lookupserver" lookup --hosts "$dir/hosts" --nameserver 127.0.0.1:9 --timeout 1000
start_rs "$server" request --file-root "$dir/www" --lookup-socket "$HAVEN_PORTAL_DIR/lookup"
rs_pid=${pids[-1]}
r() { timeout 60 "$request" "$@"; }
H=http://127.0.0.1:$http
log=$dir/nginx/access.log
# nginx logs a request after the client may have read all of it: wait.
logged() { wait_for grep -q -- "$1" "$log"; }

# --- HTTP/1.1: the body as the server sent it, headers both ways ---------
expect_rc 0 r $H/hello.txt
[ "$(cat "$dir/out")" = hello ] || fail "GET: $(cat "$dir/out")"
expect_rc 0 r -o "$dir/big.out" $H/big.bin
cmp -s "$dir/big.out" "$dir/www/big.bin" || fail "8 MiB download into a file differs"
r $H/big.bin | cmp -s - "$dir/www/big.bin" || fail "8 MiB streamed through the pipe differs"
expect_rc 0 r -H "X-Test: yes" -H "User-Agent: haven-test" $H/headers
grep -q "ua=haven-test x=yes" "$dir/out" || fail "request headers: $(cat "$dir/out")"
expect_rc 0 r -I $H/hello.txt
grep -q "^200 OK$" "$dir/out" && grep -q "^Content-Length: 6$" "$dir/out" || fail "-I: $(cat "$dir/out")"
expect_rc 0 r $H/status/404
expect_rc 22 r --fail $H/status/404
expect_rc 0 r -d "a=b" $H/echo-method
grep -q "^POST$" "$dir/out" || fail "-d is not a POST: $(cat "$dir/out")"

# --- gzip: asked for, decoded, and it was compressed on the wire ---------
r $H/text.txt | cmp -s - "$dir/www/text.txt" || fail "gzip body not decoded to the original"
logged ' /text.txt$'
sent=$(awk '/ \/text.txt$/ {print $5}' "$log" | tail -n 1)
[ "$sent" -lt "$(stat -c %s "$dir/www/text.txt")" ] || fail "text.txt not compressed on the wire ($sent bytes)"

# --- redirects: followed, limited, method rules ---------------------------
expect_rc 0 r --json $H/redirect/3
grep -q '"status":200.*"effective_url":"http://127.0.0.1:[0-9]*/hello.txt"' "$dir/out" || fail "redirects: $(cat "$dir/out")"
expect_rc 7 r --max-redirs 2 $H/redirect/3
grep -q "too many redirects error: more than 2 redirects" "$dir/err" || fail "limit: $(cat "$dir/err")"
expect_rc 7 r $H/loop
expect_rc 0 r --max-redirs 0 -I $H/redirect/1
grep -q "^302 " "$dir/out" || fail "--max-redirs 0 did not show the 302: $(cat "$dir/out")"
expect_rc 0 r -d x $H/post
grep -q "^POST$" "$dir/out" || fail "307 must keep POST: $(cat "$dir/out")"
expect_rc 0 r -d x $H/see-other
grep -q "^GET$" "$dir/out" || fail "303 must turn POST into GET: $(cat "$dir/out")"

# --- cookies: set by one response, sent on the next ----------------------
expect_rc 0 r $H/cookie/set
expect_rc 0 r $H/cookie/show
grep -q "cookie=session=s3cr3t" "$dir/out" || fail "cookie not sent back: $(cat "$dir/out")"

# --- a cookie jar kept across a restart, without the session cookies ----
jar=$dir/jar/cookies.txt
start_rs "$server" request5 --cookie-file "$jar"
expect_rc 0 r --socket "$HAVEN_PORTAL_DIR/request5" $H/cookie/both
kill "${pids[-1]}"; wait "${pids[-1]}" || fail "RequestServer with a jar did not exit cleanly"
grep -q "keep.*forever" "$jar" || fail "the persistent cookie was not saved: $(cat "$jar" 2>&1)"
grep -q "sess" "$jar" && fail "a session cookie was saved: $(cat "$jar")"
start_rs "$server" request5 --cookie-file "$jar"
expect_rc 0 r --socket "$HAVEN_PORTAL_DIR/request5" $H/cookie/show
grep -q "^cookie=keep=forever$" "$dir/out" || fail "the jar was not read back: $(cat "$dir/out")"
# Listed (as JSON too) and cleared: the jar on disk follows at once, and
# the cookie is no longer sent. Another domain's cleared nothing.
R5="--socket $HAVEN_PORTAL_DIR/request5"
expect_rc 0 r $R5 cookies
grep -q "^127.0.0.1	/	keep=forever	20" "$dir/out" || fail "request cookies: $(cat "$dir/out")"
expect_rc 0 r $R5 --json cookies 127.0.0.1
python3 -c '
import json, sys, time
c = json.load(open(sys.argv[1]))
assert len(c) == 1 and c[0]["name"] == "keep" and c[0]["value"] == "forever", c
assert c[0]["domain"] == "127.0.0.1" and c[0]["path"] == "/" and not c[0]["include_subdomains"], c
assert abs(c[0]["expires"] - time.time() - 3600) < 600, c
' "$dir/out" || fail "request --json cookies: $(cat "$dir/out")"
expect_rc 0 r $R5 clear-cookies example.org
[ "$(cat "$dir/out")" = "0 cookies removed" ] || fail "clear-cookies of another domain: $(cat "$dir/out")"
expect_rc 0 r $R5 clear-cookies 127.0.0.1
[ "$(cat "$dir/out")" = "1 cookie removed" ] || fail "clear-cookies: $(cat "$dir/out")"
grep -q "keep" "$jar" && fail "the cleared cookie is still in the jar: $(cat "$jar")"
expect_rc 0 r $R5 $H/cookie/show
grep -q "^cookie=$" "$dir/out" || fail "a cleared cookie was sent: $(cat "$dir/out")"
expect_rc 0 r $R5 --json cookies
[ "$(cat "$dir/out")" = "[]" ] || fail "cookies after clearing: $(cat "$dir/out")"
expect_rc 2 r $R5 $H/one $H/two

# --- HTTPS, TLS 1.2 then 1.3 forced by the server; names via LookupServer -
for v in 2 3; do
	port=$([ $v = 2 ] && echo "$tls12" || echo "$tls13")
	expect_rc 0 r --cacert "$dir/ca.pem" "https://good.test:$port/hello.txt?tls=$v"
	[ "$(cat "$dir/out")" = hello ] || fail "HTTPS TLS 1.$v: $(cat "$dir/err")"
	logged "?tls=$v$"
	grep "?tls=$v$" "$log" | grep -q " TLSv1.$v 200 " || fail "not TLS 1.$v: $(grep "?tls=$v$" "$log")"
done
# The wrong name (the certificate is for good.test), an untrusted CA.
expect_rc 5 r --cacert "$dir/ca.pem" "https://127.0.0.1:$tls12/hello.txt"
grep -q "TLS error: .*subject name .*'127.0.0.1'" "$dir/err" || fail "wrong name not named: $(cat "$dir/err")"
expect_rc 5 r "https://good.test:$tls13/hello.txt"
grep -q "TLS error: .*unable to get local issuer certificate" "$dir/err" || fail "untrusted CA: $(cat "$dir/err")"

# --- names: one LookupServer does not know, LookupServer unreachable ------
expect_rc 3 r "http://nowhere.test:$http/"
grep -q "DNS error: nowhere.test" "$dir/err" || fail "unknown name: $(cat "$dir/err")"
start_rs "$server" request2 --lookup-socket "$dir/no-such-socket"
expect_rc 3 r --socket "$HAVEN_PORTAL_DIR/request2" "http://good.test:$http/hello.txt"
grep -q "LookupServer is unreachable" "$dir/err" || fail "unreachable LookupServer: $(cat "$dir/err")"
expect_rc 0 r --socket "$HAVEN_PORTAL_DIR/request2" "$H/hello.txt" # IP literals need none

# --- file://: under the root read, outside refused ------------------------
expect_rc 0 r "file://$dir/www/hello.txt"
[ "$(cat "$dir/out")" = hello ] || fail "file://: $(cat "$dir/out")"
expect_rc 10 r "file://$dir/hosts"
grep -q "not permitted" "$dir/err" || fail "file:// outside: $(cat "$dir/err")"
expect_rc 11 r "file://$dir/www/nothing-here"
expect_rc 1 r "gopher://127.0.0.1/"
grep -q "only http, https, gemini and file" "$dir/err" || fail "bad scheme: $(cat "$dir/err")"

# --- connect refused ---------------------------------------------------------
closed=$(free_ports 1)
expect_rc 4 r "http://127.0.0.1:$closed/"

# --- hostile servers: typed errors, and the service serves on ---------------
python3 "$(dirname "$0")/hostile-server.py" "$dir/hostile.port" &
pids+=($!)
wait_for test -s "$dir/hostile.port"
B=http://127.0.0.1:$(cat "$dir/hostile.port")
for p in bad-status huge-header many-headers 600-headers short nul; do
	expect_rc 8 r "$B/$p"
	grep -q "protocol error" "$dir/err" || fail "$p: $(cat "$dir/err")"
	expect_rc 0 r $H/hello.txt
done
# libcurl takes 600 short lines; the service's own cap refuses them.
expect_rc 8 r "$B/600-headers"
grep -q "response headers over" "$dir/err" || fail "600 headers: $(cat "$dir/err")"
expect_rc 6 r --idle-timeout 1000 "$B/stall"
grep -q "timeout error" "$dir/err" || fail "stall: $(cat "$dir/err")"
expect_rc 6 r --max-time 500 "$B/stall"

# --- HTTP/2 over TLS (ALPN): requests share one connection ----------------
for i in 1 2 3; do
	expect_rc 0 r --cacert "$dir/ca.pem" "https://good.test:$h2/hello.txt?h2=$i"
done
logged '?h2=3$'
h2lines=$(grep ' HTTP/2.0 .*?h2=[0-9]$' "$log")
[ "$(echo "$h2lines" | wc -l)" -eq 3 ] || fail "not 3 HTTP/2 requests: $(tail -n 3 "$log")"
[ "$(echo "$h2lines" | awk '{print $1}' | sort -u | wc -l)" -eq 1 ] ||
	fail "HTTP/2 requests did not share one connection: $h2lines"
par=()
for i in 1 2 3 4 5 6; do
	"$request" --cacert "$dir/ca.pem" -o "$dir/h2.$i" "https://good.test:$h2/mid.bin?par=$i" & par+=($!)
done
for p in "${par[@]}"; do wait "$p" || fail "a parallel HTTP/2 download failed"; done
for i in 1 2 3 4 5 6; do logged "?par=$i$"; done
cmp -s "$dir/h2.6" "$dir/www/mid.bin" || fail "parallel HTTP/2 download differs"
[ "$(grep ' HTTP/2.0 .*?par=' "$log" | awk '{print $1}' | sort -u | wc -l)" -eq 1 ] ||
	fail "parallel HTTP/2 downloads not multiplexed on one connection: $(grep '?par=' "$log")"

# --- Range: an interrupted download resumed -------------------------------
head -c 300000 "$dir/www/mid.bin" >"$dir/part"
expect_rc 0 r -C 300000 -o "$dir/part" "$H/mid.bin?resume"
cmp -s "$dir/part" "$dir/www/mid.bin" || fail "the resumed download differs"
logged '?resume$'
grep '?resume$' "$log" | grep -q " 206 $(((1 << 20) - 300000)) " || fail "not a 206 of the rest: $(grep '?resume$' "$log")"

# --- one connection per host at most: parallel requests queue on it ------
start_rs "$server" request3 --max-host-connections 1
par=()
for i in 1 2 3 4; do
	"$request" --socket "$HAVEN_PORTAL_DIR/request3" -o "$dir/lim.$i" "$H/mid.bin?lim=$i" & par+=($!)
done
for p in "${par[@]}"; do wait "$p" || fail "a download under the host limit failed"; done
for i in 1 2 3 4; do logged "?lim=$i$"; done
[ "$(grep '?lim=' "$log" | awk '{print $1}' | sort -u | wc -l)" -eq 1 ] ||
	fail "more than one connection to the host: $(grep '?lim=' "$log")"

# --- proxies: tinyproxy for HTTP and CONNECT, and from the environment ---
if command -v tinyproxy >/dev/null; then
	pport=$(free_ports 1)
	printf 'Port %s\nListen 127.0.0.1\nTimeout 30\nLogFile "%s"\nLogLevel Info\nMaxClients 20\nAllow 127.0.0.1\nConnectPort %s\n' \
		"$pport" "$dir/tinyproxy.log" "$tls12" >"$dir/tinyproxy.conf"
	tinyproxy -d -c "$dir/tinyproxy.conf" 2>/dev/null & pids+=($!)
	wait_for nginx_ready "$pport"
	P=http://127.0.0.1:$pport
	expect_rc 0 r --proxy "$P" "$H/hello.txt?via=proxy"
	[ "$(cat "$dir/out")" = hello ] && grep -q 'GET .*hello.txt?via=proxy' "$dir/tinyproxy.log" ||
		fail "HTTP through tinyproxy: $(cat "$dir/err"; tail -n 3 "$dir/tinyproxy.log")"
	expect_rc 0 r --proxy "$P" --cacert "$dir/ca.pem" "https://localhost:$tls12/hello.txt"
	[ "$(cat "$dir/out")" = hello ] && grep -q "CONNECT localhost:$tls12" "$dir/tinyproxy.log" ||
		fail "CONNECT through tinyproxy: $(cat "$dir/err"; tail -n 3 "$dir/tinyproxy.log")"
	http_proxy=$P no_proxy=good.test start_rs "$server" request4 --lookup-socket "$HAVEN_PORTAL_DIR/lookup"
	expect_rc 0 r --socket "$HAVEN_PORTAL_DIR/request4" "$H/hello.txt?via=env"
	grep -q 'hello.txt?via=env' "$dir/tinyproxy.log" || fail "\$http_proxy not used: $(tail -n 3 "$dir/tinyproxy.log")"
	expect_rc 0 r --socket "$HAVEN_PORTAL_DIR/request4" "http://good.test:$http/hello.txt?via=direct"
	grep -q 'via=direct' "$dir/tinyproxy.log" && fail "\$no_proxy not honoured"
	logged 'via=direct' || fail "no_proxy host not fetched: $(cat "$dir/err")"
else
	echo "SKIP: no tinyproxy: proxy checks not run"
fi

# --- the client library: progress, stop_request, refusals (test-api.c) --
if [ -n "$api" ]; then
	timeout 60 "$api" "$HAVEN_PORTAL_DIR/request" "$H/mid.bin" $((1 << 20)) "$H/big.bin" || fail "test-request-api"
fi

# --- a client killed mid-download: the transfer stops --------------------
# Its stdout is a FIFO nobody reads: the pipe from the service fills, the
# transfer pauses; then the client dies.
mkfifo "$dir/fifo"
exec 3<>"$dir/fifo"
"$request" $H/big.bin >"$dir/fifo" 2>/dev/null &
victim=$!
wait_for sh -c "ls -l /proc/$victim/fd 2>/dev/null | grep -q pipe"
sleep 0.5
kill -9 $victim
wait $victim 2>/dev/null
exec 3<&-
wait_for grep -q ' "" /big.bin$' "$log" || fail "nginx never saw the download stop: $(tail -n 3 "$log")"
sent=$(awk '/ "" \/big.bin$/ {print $5}' "$log" | tail -n 1)
[ "${sent:-0}" -lt $((8 << 20)) ] || fail "the stopped download still sent everything"

kill -0 "$rs_pid" || fail "RequestServer died"
expect_rc 0 r $H/hello.txt
finish
