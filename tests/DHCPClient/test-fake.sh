#!/bin/bash
# tests/DHCPClient/test-fake.sh DHCPClient SVC — the client against
# fake-server.py in the namespaces of netns-fixture.sh:
#  1. a hostile server (truncated options, overload into garbage, another
#     xid, lease 0, no lease, an unasked ACK, no cookie, bad routes, a
#     2000-datagram flood) before each good reply with an infinite lease
#     (2^32-1): the client binds to the good one, counts what it dropped,
#     sets the address with no expiry and the classless routes (121, which
#     replace option 3);
#  2. a server that answers once (lease 4 s, T1 1, T2 2) and then stays
#     silent: a unicast renewal, broadcast rebinding, the address removed
#     by the expiry, and discovery again;
#  3. the offered address held by another host: ARP probe, DECLINE.
DHCP=$1 SVC=$2
FAKE="$(dirname "$0")/fake-server.py"
. "$(dirname "$0")/common.sh"
fixture_up

fake_start() {
	: >"$T/fake.log"
	ip netns exec "$NS_S" python3 "$FAKE" --log "$T/fake.log" "$@" 2>>"$T/fake.log" &
	FAKE_PID=$!
	PIDS+=("$FAKE_PID")
	wait_for 10 grep -q ready "$T/fake.log" || fail "fake server did not start"
}
fake_stop() { kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null; }

# --- 1: hostile, then a good infinite lease ---
fake_start --lease 4294967295 --hostile
client_start
wait_state bound 20
[ "$(field address)" = 10.77.0.123 ] || fail "bound to $(field address)"
[ "$(field lease_time)" = 4294967295 ] || fail "lease $(field lease_time)"
IGN=$(field ignored)
[ "$IGN" -ge 9 ] || fail "only $IGN messages dropped"
addr_show | grep -q "inet 10.77.0.123/24 .*valid_lft forever" || fail "ip addr: $(addr_show)"
route_show | grep -q "10.99.0.0/16 via 10.77.0.1 dev veth-c proto dhcp src 10.77.0.123" || fail "121: $(route_show)"
route_show | grep -q "default via 10.77.0.1 dev veth-c proto dhcp" || fail "121 default: $(route_show)"
[ "$(field domain)" = "" ] || fail "a domain with control bytes was taken: $(field domain)"
kill -0 "$CLIENT" || fail "the client died"
client_stop
fake_stop

# --- 2: one answer, then silence: renew, rebind, expiry, rediscovery ---
fake_start --lease 4 --t1 1 --t2 2 --answers 1
client_start
# BOUND lasts 1 s here: a status poll on a loaded machine can miss it, the
# client's log cannot.
wait_for 10 grep -q "bound to 10.77.0.123/24 for 4s" "$T/client.log" || fail "not bound"

wait_for 20 sh -c "! ip -n $NS_C -o -4 addr show dev veth-c | grep -q 10.77.0.123" ||
	fail "the address outlived its lease: $(addr_show)"
route_show | grep -q "10.99.0.0/16" && fail "routes outlived the lease: $(route_show)"
wait_for 10 grep -q "^DISCOVER" <(sed -n '/silent/,$p' "$T/fake.log") || fail "no discovery after expiry: $(cat "$T/fake.log")"
# In order: the answered REQUEST, a renewal and a rebinding from the
# leased address (unanswered), then a DISCOVER.
grep -E "^(DISCOVER|REQUEST)" "$T/fake.log" | awk '{print $1, $2}' | uniq >"$T/seq"
python3 - "$T/seq" <<'PY' || fail "order: $(cat "$T/fake.log")"
import sys
seq = [l.strip() for l in open(sys.argv[1])]
want = ["DISCOVER ciaddr=0.0.0.0", "REQUEST ciaddr=0.0.0.0", "REQUEST ciaddr=10.77.0.123",
        "DISCOVER ciaddr=0.0.0.0"]
sys.exit(0 if seq[:4] == want else 1)
PY
# Renewal (unicast) and rebinding (broadcast) both reached the server:
# two REQUESTs from the leased address before the expiry.
[ "$(sed -n '1,/^DISCOVER/!p' "$T/fake.log" | grep -c "REQUEST ciaddr=10.77.0.123")" -ge 2 ] ||
	fail "no renewal and rebinding: $(cat "$T/fake.log")"
client_stop
fake_stop

# --- 3: the offered address is held by another host (the server's): the
# ARP probe hears it, DECLINE, the address is never set ---
ip -n "$NS_S" addr add 10.77.0.123/24 dev veth-s
fake_start --lease 60
client_start
wait_for 10 grep -q "^DECLINE" "$T/fake.log" || fail "no DECLINE: $(cat "$T/fake.log")"
wait_state init 5
addr_show | grep -q 10.77.0.123 && fail "a declined address was set: $(addr_show)"
client_stop
echo "ok: hostile server survived, infinite lease, 121 routes; renew, rebind, expiry, rediscovery; DECLINE"

