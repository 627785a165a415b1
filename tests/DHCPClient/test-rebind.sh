#!/bin/bash
# tests/DHCPClient/test-rebind.sh DHCPClient SVC — suite 'slow' (≈ 15 s):
# dnsmasq (T1 = 5 s, T2 = 8 s) binds the client and is stopped; the
# renewal at T1 goes unanswered (unicast, seen by tcpdump), the client
# rebinds at T2 by broadcast from its address, a second dnsmasq (same
# lease database) answers, and the client stays bound to the same address.
DHCP=$1 SVC=$2
. "$(dirname "$0")/common.sh"
fixture_up
pcap_start
RANGE=(--dhcp-range=10.77.0.50,10.77.0.99,2m --dhcp-option=58,5 --dhcp-option=59,8 --dhcp-option=3,10.77.0.1)
LEASEFILE=$T/shared.leases
dnsmasq_start a "${RANGE[@]}"
client_start
wait_state bound 10
ADDR=$(field address)
dnsmasq_stop a
wait_for 20 grep -q "IP $ADDR.68 > 10.77.0.1.67" "$T/pcap.txt" || fail "no renewal"
wait_for 20 grep -q "IP $ADDR.68 > 255.255.255.255.67" "$T/pcap.txt" || fail "no broadcast rebinding"
state_is rebinding || fail "state $(field state) while rebinding"
addr_show | grep -q "inet $ADDR/24" || fail "address lost while rebinding"
dnsmasq_start b "${RANGE[@]}"
# The rebinding retransmits at half the time left (≥ 60 s): the test
# waits for it no longer than that.
wait_for 75 grep -q "DHCPACK(veth-s) $ADDR" "$T/b.log" || fail "the second dnsmasq did not answer"
wait_state bound 5
[ "$(field address)" = "$ADDR" ] || fail "rebound to $(field address)"
uni=$(grep -n "IP $ADDR.68 > 10.77.0.1.67" "$T/pcap.txt" | head -1 | cut -d: -f1)
bc=$(grep -n "IP $ADDR.68 > 255.255.255.255.67" "$T/pcap.txt" | head -1 | cut -d: -f1)
[ "$uni" -lt "$bc" ] || fail "rebinding before renewing: $(cat "$T/pcap.txt")"
client_stop
echo "ok: renew unanswered, rebind by broadcast, a second server answers"
