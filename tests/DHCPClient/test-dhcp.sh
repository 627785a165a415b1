#!/bin/bash
# tests/DHCPClient/test-dhcp.sh DHCPClient SVC — the client against
# dnsmasq in a pair of network namespaces (netns-fixture.sh): bound with
# the address, lifetime and default route `ip` shows; RENEWING at T1 (5 s)
# by unicast, seen by tcpdump and refreshing the lifetime; RELEASE on
# SIGTERM; INIT-REBOOT from the saved lease (no DISCOVER); an
# authoritative server with another range NAKs it and the client
# rediscovers; with the veth's checksum offload on (the client reads
# datagrams whose checksum the kernel left unfinished) and off.
DHCP=$1 SVC=$2
. "$(dirname "$0")/common.sh"
fixture_up
pcap_start
dnsmasq_start a --dhcp-range=10.77.0.50,10.77.0.99,2m --dhcp-option=58,5 --dhcp-option=59,8 \
	--dhcp-option=3,10.77.0.1 --dhcp-option=6,10.77.0.1 --dhcp-option=15,test.example

# --- A: offload on (veth's default), bound, renewed at T1, released ---
ip netns exec "$NS_S" ethtool -k veth-s | grep -q "tx-checksumming: on" || fail "veth tx checksum offload is not on"
client_start
wait_state bound 10
ADDR=$(field address)
case $ADDR in 10.77.0.[5-9][0-9]) ;; *) fail "address $ADDR outside the range" ;; esac
addr_show | grep -q "inet $ADDR/24 brd 10.77.0.255 scope global dynamic veth-c" || fail "ip addr: $(addr_show)"
V0=$(addr_show | sed -n 's/.*valid_lft \([0-9]*\)sec.*/\1/p')
[ -n "$V0" ] && [ "$V0" -le 120 ] || fail "no finite lifetime: $(addr_show)"
route_show | grep -q "default via 10.77.0.1 dev veth-c proto dhcp src $ADDR metric 1024" || fail "route: $(route_show)"
[ "$(field domain)" = test.example ] || fail "domain $(field domain)"
[ "$(field t1)" = 5 ] && [ "$(field t2)" = 8 ] || fail "T1/T2: $(status)"
grep -q "^address=$ADDR$" "$T/lease/veth-c.lease" || fail "lease not saved"

# RENEWING: a REQUEST from the leased address straight to the server.
wait_for 20 grep -q "IP $ADDR.68 > 10.77.0.1.67" "$T/pcap.txt" || fail "no unicast renewal: $(cat "$T/pcap.txt")"
wait_for 10 test "$(field changes)" -ge 5 || fail "not bound again after renewing: $(status)"
state_is bound || fail "state $(field state) after renewing"
# Broadcasts first (DISCOVER, REQUEST), the unicast renewal after them.
first_uni=$(grep -n "IP $ADDR.68 > 10.77.0.1.67" "$T/pcap.txt" | head -1 | cut -d: -f1)
last_bc=$(grep -n "IP 0.0.0.0.68 > 255.255.255.255.67" "$T/pcap.txt" | tail -1 | cut -d: -f1)
[ -n "$last_bc" ] && [ "$last_bc" -lt "$first_uni" ] || fail "order: $(cat "$T/pcap.txt")"
# The renewal refreshed the lifetime: 5 s after binding, an unrefreshed
# one would be at most V0 - 4.
V1=$(addr_show | sed -n 's/.*valid_lft \([0-9]*\)sec.*/\1/p')
[ "$V1" -ge $((V0 - 2)) ] || fail "lifetime not refreshed: $V0 then $V1"
[ "$(grep -c "DHCPACK(veth-s) $ADDR" "$T/a.log")" -ge 2 ] || fail "dnsmasq saw no renewal: $(cat "$T/a.log")"

client_stop
wait_for 5 grep -q "DHCPRELEASE(veth-s) $ADDR" "$T/a.log" || fail "no RELEASE"
addr_show | grep -q "$ADDR" && fail "address kept after release: $(addr_show)"
route_show | grep -q default && fail "default route kept after release"
[ -e "$T/lease/veth-c.lease" ] && fail "lease file kept after release"

# --- B: offload off; --keep, then INIT-REBOOT from the saved lease ---
ip netns exec "$NS_S" ethtool -K veth-s tx off >/dev/null || fail "ethtool -K"
client_start --keep
wait_state bound 10
ADDR=$(field address)
client_stop
addr_show | grep -q "inet $ADDR/24" || fail "--keep removed the address"
[ -e "$T/lease/veth-c.lease" ] || fail "--keep removed the lease file"
D0=$(grep -c "DHCPDISCOVER(veth-s)" "$T/a.log")
client_start --keep
wait_state bound 10
[ "$(field address)" = "$ADDR" ] || fail "INIT-REBOOT got $(field address), not $ADDR"
[ "$(grep -c "DHCPDISCOVER(veth-s)" "$T/a.log")" = "$D0" ] || fail "INIT-REBOOT sent a DISCOVER"
client_stop
ip netns exec "$NS_S" ethtool -K veth-s tx on >/dev/null

# --- C: NAK from an authoritative server with another range ---
dnsmasq_stop a
dnsmasq_start b --dhcp-authoritative --dhcp-range=10.77.0.150,10.77.0.199,2m --dhcp-option=3,10.77.0.1
client_start
wait_for 15 grep -q "DHCPNAK(veth-s) $ADDR" "$T/b.log" || fail "no NAK: $(cat "$T/b.log")"
wait_state bound 15
NEW=$(field address)
case $NEW in 10.77.0.1[5-9][0-9]) ;; *) fail "after the NAK: $NEW" ;; esac
nak=$(grep -n "DHCPNAK" "$T/b.log" | head -1 | cut -d: -f1)
offer=$(grep -n "DHCPOFFER" "$T/b.log" | head -1 | cut -d: -f1)
[ "$nak" -lt "$offer" ] || fail "no rediscovery after the NAK: $(cat "$T/b.log")"
addr_show | grep -q "inet $ADDR/" && fail "the NAKed address stayed: $(addr_show)"
client_stop
echo "ok: bound, renewed, released, INIT-REBOOT, NAK, offload on and off"
