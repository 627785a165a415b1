#!/bin/bash
# tests/DHCPClient/test-session.sh DHCPClient SVC SYSTEMSERVER ETC_DIR —
# DHCPClient from the shipped definition (etc/services/DHCPClient.ini: its
# Socket=, Pledge= with "bpf", Unveil= of the lease directory), under a
# real `SystemServer --user` running in the client's network namespace,
# its Arguments= pointed at the test's veth: started by the first status
# query on its portal, bound by dnsmasq, confined (seccomp, no_new_privs),
# no sandbox violation; `svc stop` releases the lease.
DHCP=$1 SVC=$2 SS=$(readlink -f "$3") ETC=$4
. "$(dirname "$0")/common.sh"
fixture_up
dnsmasq_start a --dhcp-range=10.77.0.50,10.77.0.99,2m --dhcp-option=3,10.77.0.1
export XDG_RUNTIME_DIR=$T/run XDG_STATE_HOME=$T/state XDG_CONFIG_HOME=$T/config HOME=$T
unset HAVEN_PORTAL_DIR
mkdir -p "$T/etc" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
sed 's/^Arguments=.*/Arguments=--interface veth-c/' "$ETC/DHCPClient.ini" >"$T/etc/DHCPClient.ini"
grep -q '^Pledge=.*bpf' "$T/etc/DHCPClient.ini" || fail "the shipped definition has no bpf promise"
if [ -n "${SANITIZED:-}" ]; then
	# As tests/lib/session-test.sh: the sanitizer runtime needs more than
	# a service pledges; the service still narrows itself in main().
	sed -i -e '/^Pledge=/d' -e '/^Unveil=/d' "$T/etc/DHCPClient.ini"
fi
PORTAL=$XDG_RUNTIME_DIR/haven/portal
bg_client SSPID "$SS" --user --config "$T/etc" --service-path "$(dirname "$DHCP")" 2>>"$T/ss.log" >>"$T/ss.log"
wait_for 10 test -S "$PORTAL/dhcp-eth0" || fail "no portal: $(cat "$T/ss.log")"

status() { "$SVC" call "$PORTAL/dhcp-eth0" get_status; }
wait_state bound 15
ADDR=$(field address)
ip -n "$NS_C" -o -4 addr show dev veth-c | grep -q "inet $ADDR/24" || fail "address not set under SystemServer"
[ -e "$XDG_STATE_HOME/haven/dhcp/veth-c.lease" ] || fail "no lease in the unveiled directory"
pid=$("$SVC" status DHCPClient --json | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
[ -n "$pid" ] || fail "no pid: $("$SVC" status DHCPClient)"
grep -q $'^Seccomp:\t2$' "/proc/$pid/status" && grep -q $'^NoNewPrivs:\t1$' "/proc/$pid/status" ||
	fail "not confined: $(grep -E 'Seccomp|NoNewPrivs' "/proc/$pid/status")"
"$SVC" stop DHCPClient >/dev/null || fail "svc stop"
wait_for 10 grep -q "DHCPRELEASE(veth-s) $ADDR" "$T/a.log" || fail "no RELEASE on svc stop"
wait_for 5 sh -c "! ip -n $NS_C -o -4 addr show dev veth-c | grep -q $ADDR" || fail "address kept after stop"
"$SVC" shutdown >/dev/null
wait "$SSPID"
grep -qiE "SIGSYS|sandbox violation|not allowed by" "$T/ss.log" "$T"/run/haven/*.log 2>/dev/null &&
	fail "sandbox violation: $(grep -iE 'SIGSYS|violation|not allowed' "$T/ss.log")"
echo "ok: started from the shipped definition, bound, confined, released on stop"
