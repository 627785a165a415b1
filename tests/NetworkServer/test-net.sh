#!/bin/bash
# test-net.sh — NetworkServer and `net` in a network namespace of its own
# (haven-net-RANDOM, a veth pair made here, both deleted on exit): static
# addresses and routes set through the CLI appear in `ip -n NS`; a link
# brought down with `ip` is an event `net watch` prints; the configuration
# comes back after a restart (a real ConfigServer in a temp dir), and a
# change made with `config` is applied; bad input gets typed errors and
# exit codes. Never touches the machine's own addresses or routes.
#   test-net.sh NETWORKSERVER NET CONFIGSERVER CONFIG
. "$(dirname "$0")/../lib/cli-test.sh" net
server=$1 net=$2 configserver=$3 config=$4

if [ "$(id -u)" != 0 ] || ! ip netns add "haven-net-probe-$$" 2>/dev/null; then
	echo "SKIP: needs root and network namespaces"
	exit 77
fi
ip netns del "haven-net-probe-$$"
ns=haven-net-$RANDOM$RANDOM
ip netns add "$ns"
trap 'cleanup; ip netns del "$ns" 2>/dev/null' EXIT
ip -n "$ns" link add veth0 type veth peer name veth1
ip -n "$ns" link set lo up

export XDG_CONFIG_HOME=$dir/config
"$configserver" --socket "$HAVEN_PORTAL_DIR/config" --defaults "$dir/no-defaults" 2>"$dir/config.log" &
config_pid=$!
pids+=($config_pid)
wait_for test -S "$HAVEN_PORTAL_DIR/config" || fail "ConfigServer did not start: $(cat "$dir/config.log")"

start_net() {
	ip netns exec "$ns" "$server" --socket "$HAVEN_PORTAL_DIR/network" 2>>"$dir/server.log" &
	server_pid=$!
	pids+=($server_pid)
	wait_for test -S "$HAVEN_PORTAL_DIR/network" || { echo "no NetworkServer: $(cat "$dir/server.log")"; exit 1; }
}
# SIGTERM, and SIGKILL after 5 s: a service stuck on a call must not hang the test.
stop_net() {
	kill "$server_pid"
	for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$server_pid" 2>/dev/null
	wait "$server_pid" 2>/dev/null
}
n() { "$net" "$@"; }
addr_of() { ip -n "$ns" -o addr show dev "$1"; }
routes() { ip -n "$ns" route show; ip -n "$ns" -6 route show; }

start_net
expect_rc 0 n list
grep -q "^[0-9]*: veth0: <DOWN> mtu 1500" "$dir/out" || fail "list: $(cat "$dir/out")"

# --- a subscriber sees what `ip` does ------------------------------------
n watch >"$dir/watch" 2>"$dir/watch.err" &
watch_pid=$!
pids+=($watch_pid)
wait_for grep -q watching "$dir/watch.err" || fail "net watch did not start: $(cat "$dir/watch.err")"

# --- static addresses and routes through the CLI, seen by ip --------------
expect_rc 0 n set veth0 up
expect_rc 0 n set veth0 mtu 1400
expect_rc 0 n set veth0 addr 10.9.0.1/24
expect_rc 0 n set veth0 addr fd00:9::1/64
expect_rc 0 n set veth0 route 10.20.0.0/16 via 10.9.0.2 metric 50
expect_rc 0 n set veth0 route fd00:20::/48 via fd00:9::2
grep -q "not kept" "$dir/err" && fail "a change was not persisted: $(cat "$dir/err")"
addr_of veth0 | grep -q "inet 10.9.0.1/24" || fail "ip addr lacks 10.9.0.1/24: $(addr_of veth0)"
addr_of veth0 | grep -q "inet6 fd00:9::1/64" || fail "ip addr lacks fd00:9::1/64: $(addr_of veth0)"
routes | grep -q "^10.20.0.0/16 via 10.9.0.2 dev veth0 proto static metric 50" || fail "route: $(routes)"
routes | grep -q "^fd00:20::/48 via fd00:9::2 dev veth0" || fail "IPv6 route: $(routes)"
ip -n "$ns" link show veth0 | grep -q "mtu 1400" || fail "mtu: $(ip -n "$ns" link show veth0)"
expect_rc 0 n list --json veth0
grep -q '"address":"10.9.0.1","prefix":24' "$dir/out" || fail "list --json: $(cat "$dir/out")"
grep -q '"destination":"10.20.0.0","prefix":16,"gateway":"10.9.0.2"' "$dir/out" || fail "routes in json: $(cat "$dir/out")"

ip -n "$ns" link set veth0 down
wait_for grep -q "^link veth0 down" "$dir/watch" || fail "no down event: $(cat "$dir/watch")"
ip -n "$ns" addr add 10.9.1.1/24 dev veth1
wait_for grep -q "^address added veth1 10.9.1.1/24" "$dir/watch" || fail "no address event: $(cat "$dir/watch")"
grep -q "^address added veth0 10.9.0.1/24" "$dir/watch" || fail "no event for the CLI's address: $(cat "$dir/watch")"
grep -q "^route added 10.20.0.0/16 via 10.9.0.2 dev veth0" "$dir/watch" || fail "no route event: $(cat "$dir/watch")"

# --- bad input: typed errors, exit codes ----------------------------------
expect_rc 2 n set veth0 addr 10.9.0.1/99
grep -q "prefix must be" "$dir/err" || fail "prefix 99: $(cat "$dir/err")"
expect_rc 2 n set veth0 addr 10.9.0.300/24
grep -q "not an IPv4 or IPv6 address" "$dir/err" || fail "bad address: $(cat "$dir/err")"
expect_rc 2 n set veth0 addr 10.9.0.1
expect_rc 2 n set veth0 route 10.30.0.0/16 via fd00::1
expect_rc 2 n set veth0 mtu 9
expect_rc 3 n set nosuch0 up
grep -q 'no interface named "nosuch0"' "$dir/err" || fail "unknown interface: $(cat "$dir/err")"
expect_rc 3 n list nosuch0
expect_rc 1 n set veth0 del-addr 10.99.0.1/24
expect_rc 4 n set veth0 dhcp on
expect_rc 2 n set veth0 frobnicate
expect_rc 2 n set veth0
expect_rc 2 n frob
expect_rc 0 n --help

# --- anyone may read, only root may change ------------------------------
chmod o+x "$dir" "$HAVEN_PORTAL_DIR"
chmod 0666 "$HAVEN_PORTAL_DIR/network"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$net" "$@"; }
expect_rc 0 as_nobody list veth0
expect_rc 1 as_nobody set veth0 mtu 1280
grep -q "is for root" "$dir/err" || fail "nobody changed the MTU: $(cat "$dir/err")"
ip -n "$ns" link show veth0 | grep -q "mtu 1400" || fail "the MTU changed for nobody"

# --- the configuration survives a restart ---------------------------------
stop_net
wait_for grep -q "went away" "$dir/watch.err" || fail "net watch did not see the service go"
ip -n "$ns" addr flush dev veth0
ip -n "$ns" link set veth0 mtu 1500
start_net
wait_for sh -c "ip -n $ns -o addr show dev veth0 | grep -q 'inet 10.9.0.1/24'" ||
	fail "address not restored: $(addr_of veth0)"
wait_for sh -c "ip -n $ns route show | grep -q '^10.20.0.0/16 via 10.9.0.2'" || fail "route not restored: $(routes)"
ip -n "$ns" link show veth0 | grep -q "mtu 1400" || fail "mtu not restored: $(ip -n "$ns" link show veth0)"
ip -n "$ns" link show veth0 | grep -q "state DOWN\|,UP" || true

# --- a change made in ConfigServer by someone else is applied -------------
"$config" set Network veth0 mtu 1300 >/dev/null || fail "config set"
wait_for sh -c "ip -n $ns link show veth0 | grep -q 'mtu 1300'" || fail "config change not applied"
"$config" set Network veth0 addresses "fd00:9::1/64" >/dev/null || fail "config set addresses"
wait_for sh -c "! ip -n $ns -o addr show dev veth0 | grep -q 'inet 10.9.0.1/24'" ||
	fail "an address dropped from the configuration stayed: $(addr_of veth0)"

# --- a frozen ConfigServer never blocks the service; dying mid-call -------
# The change waits for ConfigServer's answer (held, not blocking): reads
# go on, and when the service dies the caller gets a clean error.
kill -STOP "$config_pid"
n set veth0 mtu 1350 >"$dir/held.out" 2>"$dir/held.err" &
held=$!
wait_for sh -c "ip -n $ns link show veth0 | grep -q 'mtu 1350'" || fail "the held change was not applied"
expect_rc 0 n list veth0
grep -q "mtu 1350" "$dir/out" || fail "list while ConfigServer is frozen: $(cat "$dir/out")"
kill -0 "$held" 2>/dev/null || fail "the change was answered without ConfigServer: $(cat "$dir/held.err")"
stop_net
wait "$held"
[ $? -eq 1 ] || fail "net set did not fail cleanly when the service died: $(cat "$dir/held.err")"
grep -q "^net: veth0: " "$dir/held.err" || fail "no one-line error: $(cat "$dir/held.err")"
kill -CONT "$config_pid"
finish
