# nsd-fixture.sh — an authoritative nsd on a free loopback port with the
# test zones, made now: example.test (every record type, a CNAME chain,
# 2-second TTLs and SOA minimum, a TXT set too big for UDP),
# 2.0.192.in-addr.arpa, signed.test (signed with ldns-signzone) and
# broken.test (its data changed after signing). Source it after
# cli-test.sh; it sets $port, writes the zones' DS records to
# $dir/anchors and adds nsd to $pids. Defines free_port.
for t in nsd ldns-keygen ldns-signzone drill python3; do
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

