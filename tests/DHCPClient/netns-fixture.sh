# netns-fixture.sh — sourced by the DHCPClient tests and benchmark: two
# network namespaces (client, server) joined by a veth pair, made here and
# removed in the EXIT trap with every process started in them. Addresses
# exist only inside them; the machine's own links and routes are never
# touched. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN): exits 77 (skip)
# without.
#
#   fixture_up                       make the namespaces and the veth pair
#   dnsmasq_start NAME ARGS...       a dnsmasq in the server namespace
#                                    (lease database $LEASEFILE if set),
#                                    its log in $T/NAME.log
#   dnsmasq_stop NAME
#   in_client CMD... / in_server CMD...
#   bg_client VAR CMD...             CMD in the client namespace in the
#                                    background, its pid in VAR (killed
#                                    by the trap)
#   wait_for SECONDS CMD...          until CMD succeeds, or fail
set -u
T=$(mktemp -d /tmp/hv-dhcp.XXXXXX)
NS_C=hvdc-c-$$-$RANDOM
NS_S=hvdc-s-$$-$RANDOM
PIDS=()

fixture_cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$NS_C" 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	rm -rf "$T"
}
trap fixture_cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

in_client() { ip netns exec "$NS_C" "$@"; }
in_server() { ip netns exec "$NS_S" "$@"; }

fixture_up() {
	if [ "$(id -u)" != 0 ] || ! ip netns add "$NS_C" 2>/dev/null; then
		echo "skipped: network namespaces need root" >&2
		exit 77
	fi
	ip netns add "$NS_S" || fail "ip netns add"
	ip link add veth-c netns "$NS_C" address 02:00:00:00:dc:01 type veth \
		peer name veth-s netns "$NS_S" || fail "veth pair"
	ip -n "$NS_S" addr add 10.77.0.1/24 dev veth-s
	ip -n "$NS_S" link set veth-s up
	ip -n "$NS_S" link set lo up
	ip -n "$NS_C" link set lo up
}

# dnsmasq_start NAME [dnsmasq args]: DHCP only (port 0: no DNS), leases and
# pid in $T, every DHCP exchange logged to $T/NAME.log.
dnsmasq_start() {
	local name=$1; shift
	: > "$T/$name.log"
	ip netns exec "$NS_S" dnsmasq --no-daemon --no-ping --conf-file=/dev/null --port=0 \
		--interface=veth-s --bind-interfaces --user=root --group=root \
		--dhcp-leasefile="${LEASEFILE:-$T/$name.leases}" --pid-file="$T/$name.pid" \
		--log-dhcp --log-facility="$T/$name.log" "$@" 2>>"$T/$name.log" &
	local pid=$!
	PIDS+=("$pid")
	eval "DNSMASQ_$name=$pid"
	wait_for 10 grep -q "DHCP, IP range" "$T/$name.log" || fail "dnsmasq $name did not start: $(cat "$T/$name.log")"
}

dnsmasq_stop() {
	local pid
	eval "pid=\$DNSMASQ_$1"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# `ip netns exec` execs CMD: $! is CMD's own pid, so a kill reaches it.
bg_client() {
	local var=$1; shift
	ip netns exec "$NS_C" "$@" &
	PIDS+=("$!")
	eval "$var=$!"
}

wait_for() {
	local secs=$1; shift
	local end=$((SECONDS + secs))
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
	return 0
}
