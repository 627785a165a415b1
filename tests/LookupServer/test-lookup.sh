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
. "$(dirname "$0")/nsd-fixture.sh"

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
