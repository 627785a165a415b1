#!/bin/bash
# test-lookup.sh — LookupServer and `lookup` against a real authoritative
# server (nsd) on a loopback port, with zones made here: records of every
# type, CNAME chains, NXDOMAIN, a signed zone (secure), the same zone with
# a broken signature (bogus: an error, never the address), an unsigned
# zone (insecure), an answer too big for UDP (TCP fallback), short TTLs
# (expiry, negative caching), a dead first nameserver, the hosts file, bad
# names. Never touches /etc/resolv.conf or /etc/nsswitch.conf: every
# nameserver and file is given on the command line.
#   test-lookup.sh LOOKUPSERVER LOOKUP
. "$(dirname "$0")/../lib/cli-test.sh" lookup
server=$1 lookup=$2
for t in nsd ldns-keygen ldns-signzone python3; do
	command -v "$t" >/dev/null || { echo "SKIP: $t is missing (scripts/install-deps)"; exit 77; }
done

# A free loopback port (UDP and TCP), asked of the kernel.
free_port() { python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

z=$dir/zones; mkdir -p "$z"
soa() { echo "\$ORIGIN $1.
\$TTL 300
@ IN SOA ns.$1. admin.$1. 1 3600 600 86400 2
@ IN NS ns.$1.
ns IN A 127.0.0.1"; }
{ soa example.test; cat <<'ZONE'
www IN A 192.0.2.1
www IN AAAA 2001:db8::1
alias IN CNAME alias2
alias2 IN CNAME www
@ IN MX 10 mail.example.test.
@ IN TXT "hello world" "two"
_sip._tcp IN SRV 10 20 5060 sip.example.test.
@ IN CAA 0 issue "ca.example.net"
short 2 IN A 192.0.2.9
ZONE
# 40 strings of 100 bytes: far more than libunbound's 1232-byte EDNS
# buffer, so nsd sets TC on UDP and the answer must come over TCP.
for i in $(seq -w 1 40); do echo "big IN TXT \"$i$(printf 'x%.0s' $(seq 1 98))\""; done
} >"$z/example.test.zone"
{ soa 2.0.192.in-addr.arpa; echo "1 IN PTR www.example.test."; } >"$z/rev.zone"
{ soa signed.test; echo "www IN A 192.0.2.10"; } >"$z/signed.test.zone"
{ soa broken.test; echo "www IN A 192.0.2.20"; } >"$z/broken.test.zone"
(cd "$z" && for zone in signed.test broken.test; do
	key=$(ldns-keygen -a ECDSAP256SHA256 -k "$zone") && ldns-signzone "$zone.zone" "$key" && cat "$key.ds" >>"$dir/anchors"
done) >/dev/null || { echo "cannot sign the test zones"; exit 1; }
# The broken zone: its data changed after signing, so the signature no longer matches.
sed -i 's/192\.0\.2\.20/192.0.2.66/' "$z/broken.test.zone.signed"
grep -q 192.0.2.66 "$z/broken.test.zone.signed" || { echo "could not break the zone"; exit 1; }

port=$(free_port)
cat >"$dir/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@$port
  zonesdir: "$z"
  pidfile: "$dir/nsd.pid"
  database: ""
  zonelistfile: "$dir/zone.list"
  xfrdfile: "$dir/xfrd.state"
  username: ""
  logfile: "$dir/nsd.log"
remote-control:
  control-enable: no
zone:
  name: example.test
  zonefile: example.test.zone
zone:
  name: 2.0.192.in-addr.arpa
  zonefile: rev.zone
zone:
  name: signed.test
  zonefile: signed.test.zone.signed
zone:
  name: broken.test
  zonefile: broken.test.zone.signed
CONF
nsd -d -c "$dir/nsd.conf" 2>>"$dir/nsd.log" &
pids+=($!)
wait_for drill -Q -p "$port" @127.0.0.1 www.example.test A >/dev/null 2>&1 ||
	{ echo "nsd did not start: $(cat "$dir/nsd.log")"; exit 1; }

printf '192.0.2.200 pinned.example.test pinned old.example.test\n10.9.9.9 www.signed.test\n' >"$dir/hosts"
start_service "$server" lookup --nameserver "127.0.0.1:$port" --hosts "$dir/hosts" \
	--trust-anchor "$dir/anchors" --timeout 4000
l() { "$lookup" "$@"; }

# --- records of each type, the CNAME chain, the canonical name ---------
expect_rc 0 l www.example.test
grep -q "^www.example.test.	[0-9]*	IN	A	192.0.2.1$" "$dir/out" || fail "A: $(cat "$dir/out")"
grep -q "IN	AAAA	2001:db8::1$" "$dir/out" || fail "AAAA: $(cat "$dir/out")"
expect_rc 0 l alias.example.test A CNAME
grep -q "^www.example.test.	.*	A	192.0.2.1$" "$dir/out" || fail "CNAME chain: $(cat "$dir/out")"
grep -q "^alias.example.test.	.*	CNAME	alias2.example.test.$" "$dir/out" || fail "CNAME: $(cat "$dir/out")"
expect_rc 0 l example.test MX TXT SOA NS CAA
for want in "MX	10 mail.example.test." 'TXT	"hello world" "two"' "NS	ns.example.test." \
	"SOA	ns.example.test. admin.example.test. 1 3600 600 86400 2" 'CAA	0 issue "ca.example.net"'; do
	grep -qF "$want" "$dir/out" || fail "missing $want in: $(cat "$dir/out")"
done
expect_rc 0 l _sip._tcp.example.test SRV
grep -q "SRV	10 20 5060 sip.example.test.$" "$dir/out" || fail "SRV: $(cat "$dir/out")"
expect_rc 0 l -x 192.0.2.1
grep -q "PTR	www.example.test.$" "$dir/out" || fail "PTR: $(cat "$dir/out")"
expect_rc 0 l --json alias.example.test A
grep -q '"status":"Ok".*"canonical_name":"www.example.test.".*"value":"192.0.2.1"' "$dir/out" ||
	fail "JSON: $(cat "$dir/out")"

# --- no such name, no data: distinct outcomes and exit codes ------------
expect_rc 1 l nope.example.test
grep -q "no such name" "$dir/err" || fail "NXDOMAIN: $(cat "$dir/err")"
expect_rc 0 l www.example.test MX
grep -q "has no MX records" "$dir/err" || fail "NoData: $(cat "$dir/err")"

# --- TCP fallback: 40 TXT strings cannot come over UDP ------------------
expect_rc 0 l big.example.test TXT
[ "$(grep -o '"[0-9][0-9]x' "$dir/out" | sort -u | wc -l)" -eq 40 ] ||
	fail "truncated answer: $(wc -c <"$dir/out") bytes"

# --- DNSSEC: secure, bogus (never the address), insecure ----------------
expect_rc 0 l --json www.signed.test AAAA
expect_rc 0 l --json signed.test SOA
grep -q '"validation":"secure"' "$dir/out" || fail "signed zone not secure: $(cat "$dir/out")"
expect_rc 4 l www.broken.test A
grep -q "bogus" "$dir/err" || fail "bogus: $(cat "$dir/err")"
grep -q "192.0.2" "$dir/out" "$dir/err" && fail "a bogus answer showed an address"
expect_rc 4 l --json www.broken.test A
grep -q '"status":"Bogus".*"why":"[^"]' "$dir/out" || fail "bogus without a reason: $(cat "$dir/out")"
grep -q "192.0.2.66" "$dir/out" && fail "a bogus answer showed its address"
expect_rc 0 l --json www.example.test A
grep -q '"validation":"insecure"' "$dir/out" || fail "unsigned zone not insecure: $(cat "$dir/out")"

# --- the hosts file wins, and an edit is seen without a restart ---------
expect_rc 0 l --json www.signed.test A
grep -q '"source":"hosts".*"value":"10.9.9.9"' "$dir/out" || fail "hosts did not win: $(cat "$dir/out")"
expect_rc 0 l pinned
grep -q "192.0.2.200" "$dir/out" || fail "hosts alias: $(cat "$dir/out")"
expect_rc 0 l -x 192.0.2.200
grep -q "PTR	pinned.example.test.$" "$dir/out" || fail "hosts PTR: $(cat "$dir/out")"
# As an editor saves: a new file renamed over the old one.
printf '192.0.2.201 pinned.example.test\n' >"$dir/hosts.new" && mv "$dir/hosts.new" "$dir/hosts"
wait_for sh -c "'$lookup' pinned.example.test A 2>/dev/null | grep -q 192.0.2.201" ||
	fail "hosts edit (rename) not seen"
printf '192.0.2.202 pinned.example.test\n' >>"$dir/hosts"
wait_for sh -c "'$lookup' pinned.example.test A 2>/dev/null | grep -q 192.0.2.202" ||
	fail "hosts edit (in place) not seen"
expect_rc 1 l old.example.test A # gone with the rewrite: DNS says no such name

# --- the cache: TTLs counted down, expiry, negative caching, flush -------
expect_rc 0 l --json short.example.test A
grep -q '"source":"network"' "$dir/out" || fail "first short lookup: $(cat "$dir/out")"
expect_rc 0 l --json short.example.test A
grep -q '"source":"cache","ttl":[0-2],' "$dir/out" || fail "short not cached: $(cat "$dir/out")"
expect_rc 1 l --json gone.example.test A
expect_rc 1 l --json gone.example.test A
grep -q '"status":"NoSuchName","validation":"insecure","source":"cache"' "$dir/out" ||
	fail "NXDOMAIN not cached: $(cat "$dir/out")"
sleep 3 # both TTLs (2 s, and the SOA minimum of 2 s) are over
expect_rc 0 l --json short.example.test A
grep -q '"source":"network"' "$dir/out" || fail "short did not expire: $(cat "$dir/out")"
expect_rc 1 l --json gone.example.test A
grep -q '"source":"network"' "$dir/out" || fail "negative answer did not expire: $(cat "$dir/out")"
expect_rc 0 l flush
expect_rc 0 l --json www.example.test A
grep -q '"source":"network"' "$dir/out" || fail "flush kept the cache: $(cat "$dir/out")"
expect_rc 0 l --json stats
grep -q '"cache_hits":[1-9].*"hosts_reloads":[3-9]' "$dir/out" || fail "stats: $(cat "$dir/out")"

# --- bad names: clean errors, and the service goes on serving -----------
long=$(printf 'a%.0s' $(seq 1 63)); name254="$long.$long.$long.$(printf 'b%.0s' $(seq 1 62))"
[ ${#name254} -eq 254 ] || fail "test bug: ${#name254}"
expect_rc 2 l "$name254"
grep -q "longer than 253" "$dir/err" || fail "254-byte name: $(cat "$dir/err")"
expect_rc 2 l "${long}x.example.test"
grep -q "label longer than 63" "$dir/err" || fail "64-byte label: $(cat "$dir/err")"
expect_rc 2 l "a..example.test"
grep -q "empty label" "$dir/err" || fail "empty label: $(cat "$dir/err")"
expect_rc 2 l ".example.test"
expect_rc 2 l -x 300.1.2.3
expect_rc 2 l www.example.test BOGUSTYPE
expect_rc 0 l www.example.test A

# --- a dead first nameserver, a live second one --------------------------
# The dead one is a bound UDP socket nobody reads (no ICMP error: a
# silent server), and a TCP listener that never accepts.
dead=$(free_port)
python3 -c "import socket,time
u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.bind(('127.0.0.1',$dead))
t=socket.socket(); t.bind(('127.0.0.1',$dead)); t.listen(1); time.sleep(600)" &
pids+=($!)
start_service "$server" lookup2 --nameserver "127.0.0.1:$dead" --nameserver "127.0.0.1:$port" \
	--hosts "" --trust-anchor "$dir/anchors" --timeout 4000
export_sock=$HAVEN_PORTAL_DIR/lookup2
t0=$(date +%s%N)
for n in www alias _sip._tcp; do
	expect_rc 0 l --socket "$export_sock" "$n.example.test" A CNAME SRV
done
t1=$(date +%s%N)
expect_rc 0 l --socket "$export_sock" short.example.test A
expect_rc 0 l --socket "$export_sock" example.test MX
t2=$(date +%s%N)
echo "dead first nameserver: first lookups $(((t1 - t0) / 1000000)) ms, later ones $(((t2 - t1) / 1000000)) ms"
[ $(((t2 - t1) / 1000000)) -lt 1000 ] || fail "later lookups did not skip the dead nameserver"

finish
