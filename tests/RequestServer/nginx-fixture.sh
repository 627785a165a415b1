# nginx-fixture.sh — sourced by RequestServer's tests and benchmark (after
# cli-test.sh, which gives $dir): a test CA and certificates made here by
# openssl, and nginx from Debian run unprivileged in $dir/nginx on loopback
# ports, as one process (master_process off), killed with the test.
#   $http   port: HTTP/1.1          $tls12  port: HTTPS, TLS 1.2 only
#   $tls13  port: HTTPS, TLS 1.3 only   $h2 port: HTTPS with HTTP/2 (ALPN)
#   $dir/ca.pem  the CA;  $dir/nginx/access.log  one line per request:
#   "connection protocol ssl_protocol status bytes completion uri"
#   $dir/www     the document root (hello.txt, big.bin 8 MiB, mid.bin 1 MiB, text.txt)
# The certificate names good.test, www.good.test and localhost (for a
# proxy's CONNECT), never 127.0.0.1. Proxy variables of the environment
# are dropped: the services under test inherit it.
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
NGINX=${NGINX:-/usr/sbin/nginx}
[ -x "$NGINX" ] || { echo "SKIP: no nginx (apt-get install nginx-light)"; exit 77; }
free_ports() { python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"; }
read -r http tls12 tls13 h2 <<<"$(free_ports 4)"

mk_certs() {
	local d=$dir/pki; mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Haven Test CA" \
		-keyout "$d/ca.key" -out "$dir/ca.pem" 2>/dev/null || return 1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=good.test" \
		-keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null || return 1
	printf 'subjectAltName=DNS:good.test,DNS:www.good.test,DNS:localhost\n' >"$d/ext"
	openssl x509 -req -in "$d/server.csr" -CA "$dir/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/ext" -out "$d/server.pem" 2>/dev/null
}
mk_certs || { echo "openssl could not make the test certificates"; exit 1; }

mkdir -p "$dir/nginx" "$dir/www"
echo hello >"$dir/www/hello.txt"
for i in $(seq 1 2000); do echo "line $i of a text that compresses well"; done >"$dir/www/text.txt"
head -c $((8 << 20)) /dev/urandom >"$dir/www/big.bin"
head -c $((1 << 20)) "$dir/www/big.bin" >"$dir/www/mid.bin"
n=$dir/nginx
cat >"$n/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $n/pid;
error_log stderr warn;
events { worker_connections 256; }
http {
	log_format fmt '\$connection \$server_protocol \$ssl_protocol \$status \$body_bytes_sent "\$request_completion" \$request_uri';
	access_log $n/access.log fmt;
	client_body_temp_path $n/body; proxy_temp_path $n/proxy; fastcgi_temp_path $n/fastcgi;
	uwsgi_temp_path $n/uwsgi; scgi_temp_path $n/scgi;
	default_type application/octet-stream;
	keepalive_requests 100000;
	root $dir/www;
	gzip on; gzip_types text/plain; gzip_min_length 100;
	types { text/plain txt; }
	ssl_certificate $dir/pki/server.pem; ssl_certificate_key $dir/pki/server.key;
	server {
		listen 127.0.0.1:$http;
		location = /redirect/1 { return 302 /hello.txt; }
		location = /redirect/2 { return 301 /redirect/1; }
		location = /redirect/3 { return 303 /redirect/2; }
		location = /loop { return 302 /loop; }
		location = /post { return 307 /echo-method; }
		location = /see-other { return 303 /echo-method; }
		location = /echo-method { return 200 "\$request_method\n"; }
		location = /cookie/set { add_header Set-Cookie "session=s3cr3t; Path=/"; return 200 "set\n"; }
		location = /cookie/both { add_header Set-Cookie "keep=forever; Path=/; Max-Age=3600";
			add_header Set-Cookie "sess=gone; Path=/"; return 200 "both\n"; }
		location = /cookie/show { return 200 "cookie=\$http_cookie\n"; }
		location = /headers { return 200 "ua=\$http_user_agent x=\$http_x_test\n"; }
		location = /status/404 { return 404 "nothing\n"; }
	}
	server { listen 127.0.0.1:$tls12 ssl; ssl_protocols TLSv1.2; }
	server { listen 127.0.0.1:$tls13 ssl; ssl_protocols TLSv1.3; }
	server { listen 127.0.0.1:$h2 ssl http2; ssl_protocols TLSv1.2 TLSv1.3; }
}
CONF
"$NGINX" -p "$n" -c "$n/nginx.conf" -e stderr 2>"$n/stderr" &
pids+=($!)
nginx_ready() { python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" 2>/dev/null; }
wait_for_nginx() { for _ in $(seq 1 100); do kill -0 "${pids[-1]}" 2>/dev/null || return 1; nginx_ready "$h2" && return 0; sleep 0.1; done; return 1; }
wait_for_nginx || { echo "nginx did not start: $(cat "$n/stderr")"; exit 1; }
