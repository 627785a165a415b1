# common.sh — what the DHCPClient test scripts share on top of
# netns-fixture.sh: the client started as SystemServer would start it
# (its own socket, lease dir), its status over IPC, tcpdump on the server
# side. Sourced with DHCP (the DHCPClient binary) and SVC (svc) set.
. "$(dirname "${BASH_SOURCE[0]}")/netns-fixture.sh"
# meson hands paths relative to the build dir; SystemServer wants them whole.
DHCP=$(readlink -f "$DHCP") SVC=$(readlink -f "$SVC")
# A pledged process cannot run LeakSanitizer at exit (docs/sandbox.md):
# sanitized builds check everything else.
[ -n "${SANITIZED:-}" ] && export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0

# client_start [ARGS]: DHCPClient on veth-c, pid in $CLIENT.
client_start() {
	rm -f "$T/dhcp.sock"
	bg_client CLIENT "$DHCP" --interface veth-c --lease-dir "$T/lease" --socket "$T/dhcp.sock" "$@" \
		2>>"$T/client.log"
	wait_for 10 test -S "$T/dhcp.sock" || fail "DHCPClient did not start: $(cat "$T/client.log")"
}

# client_stop: SIGTERM, and its exit code must be 0.
client_stop() {
	kill -TERM "$CLIENT"
	wait "$CLIENT"
	local rc=$?
	[ $rc = 0 ] || fail "DHCPClient exited with $rc: $(tail -5 "$T/client.log")"
}

status() { "$SVC" call "$T/dhcp.sock" get_status; }
field() {
	status | python3 -c "import json,sys; print(json.load(sys.stdin)['status']['$1'])"
}
state_is() { [ "$(field state)" = "$1" ]; }
# wait_state STATE SECONDS
wait_state() {
	wait_for "$2" state_is "$1" || fail "state $(field state), expected $1; log: $(tail -8 "$T/client.log")"
}
addr_show() { ip -n "$NS_C" -o -4 addr show dev veth-c; }
route_show() { ip -n "$NS_C" route show; }

# tcpdump on the server's end: one line per DHCP datagram, in order.
pcap_start() {
	ip netns exec "$NS_S" tcpdump -i veth-s -n -l -U 'udp and (port 67 or port 68)' \
		>"$T/pcap.txt" 2>"$T/tcpdump.err" &
	PIDS+=("$!")
	wait_for 10 grep -q "listening on" "$T/tcpdump.err" || fail "tcpdump: $(cat "$T/tcpdump.err")"
}

# A failure shows the client's last words and the server's.
fail() {
	echo "FAIL: $*" >&2
	for f in "$T"/client.log "$T"/*.log "$T"/pcap.txt; do
		[ -s "$f" ] && { echo "--- ${f##*/}" >&2; tail -15 "$f" >&2; }
	done
	exit 1
}
