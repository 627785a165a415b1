#!/bin/bash
# bench/DHCPClient/bench-dhcp.sh DHCPClient [RUNS] — discover -> bound:
# Haven's DHCPClient, busybox udhcpc and dhcpcd against the same dnsmasq,
# in the namespaces of tests/DHCPClient/netns-fixture.sh, RUNS (20)
# interleaved runs each (bench-dhcp.py). Root; skipped (77) without.
DHCP=$1 RUNS=${2:-20}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../tests/DHCPClient/netns-fixture.sh"
for p in dnsmasq udhcpc dhcpcd; do
	command -v $p >/dev/null || { echo "skipped: $p not installed" >&2; exit 77; }
done
fixture_up
ip -n "$NS_C" link set veth-c up
dnsmasq_start a --dhcp-range=10.77.0.50,10.77.0.99,2m --dhcp-option=3,10.77.0.1
mkdir -p "$T/lease"
ip netns exec "$NS_C" unshare -m python3 "$HERE/bench-dhcp.py" "$DHCP" "$T" "$RUNS"
