#!/bin/bash
# net-bench — `net list --json` (a call to NetworkServer, which answers
# from its model) against `ip -j addr` (iproute2 dumping the kernel
# itself), one run, in a namespace of its own with N veth interfaces (N/2 pairs), each
# with an IPv4 and an IPv6 address and a route. Interleaved rounds; prints
# the median of each and the ratio. Nothing is asserted. Root; never
# touches the machine's own interfaces.
#   net-bench [N_INTERFACES] [ROUNDS]
set -u
server=@SERVER@ net=@NET@
n=${1:-200} rounds=${2:-30}
[ "$(id -u)" = 0 ] || { echo "net-bench: needs root (a network namespace)"; exit 0; }
ns=haven-net-bench-$RANDOM$RANDOM
dir=$(mktemp -d /tmp/hvnb.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; ip netns del "$ns" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
ip netns add "$ns" || exit 1
{
	for i in $(seq 1 "$n"); do
		# veth, not dummy: a container's kernel may lack the dummy module.
		[ $((i % 2)) = 1 ] && echo "link add d$i type veth peer name d$((i + 1))"
		echo "link set d$i up"
		echo "addr add 10.$((i / 250)).$((i % 250)).1/24 dev d$i"
		echo "addr add fd00:$i::1/64 dev d$i nodad"
		echo "route add 172.$((16 + i / 250)).$((i % 250)).0/24 via 10.$((i / 250)).$((i % 250)).2 dev d$i"
	done
} >"$dir/batch"
ip -n "$ns" -batch "$dir/batch" || exit 1
HAVEN_CRASH_HANDLER=no ip netns exec "$ns" "$server" --socket "$dir/net" --config-socket "$dir/none" 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do [ -S "$dir/net" ] && break; sleep 0.05; done
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
"$net" --socket "$dir/net" list --json >"$dir/net.json" || exit 1
ip -n "$ns" -j addr >"$dir/ip.json"
a=$(grep -o '"address":"10\.' "$dir/net.json" | wc -l)
b=$(grep -o '"local":"10\.' "$dir/ip.json" | wc -l)
echo "interfaces: $n (+lo); IPv4 addresses seen: net $a, ip $b; output bytes: net $(wc -c <"$dir/net.json"), ip $(wc -c <"$dir/ip.json")"
: >"$dir/t-net"
: >"$dir/t-ip"
for _ in $(seq 1 "$rounds"); do
	t=$(now); "$net" --socket "$dir/net" list --json >/dev/null; echo $(( $(now) - t )) >>"$dir/t-net"
	t=$(now); ip -n "$ns" -j addr >/dev/null; echo $(( $(now) - t )) >>"$dir/t-ip"
done
mn=$(median <"$dir/t-net") mi=$(median <"$dir/t-ip")
echo "net list --json: median $((mn / 1000)) us over $rounds runs"
echo "ip -j addr:      median $((mi / 1000)) us over $rounds runs"
awk -v a="$mn" -v b="$mi" 'BEGIN { printf "ratio net/ip: %.2fx (below 1: net is faster)\n", a / b }'
