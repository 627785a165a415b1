#!/usr/bin/env python3
"""bench-dhcp.py — discover -> bound, Haven's DHCPClient against busybox
udhcpc and dhcpcd, run by bench-dhcp.sh inside the client's network
namespace and a private mount namespace (tmpfs over dhcpcd's /run and
/var/lib directories: nothing of the machine's is written).

"Bound" is the moment the leased IPv4 address appears on the interface
(RTM_NEWADDR, watched on an rtnetlink socket opened before the client
starts): the same instant for the three, whoever sets the address.
Runs are interleaved (haven, haven --arp-probe 0, udhcpc, dhcpcd, ...):
dhcpcd runs with "noarp" and udhcpc never probes, so haven-noarp is the
like-for-like figure and haven the shipped default's. Each run starts
from no address and no saved lease, so each is a full DISCOVER/OFFER/
REQUEST/ACK. Prints medians, p90 and the ratios to the faster peer.
"""
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

IFACE = "veth-c"
RTMGRP_IPV4_IFADDR = 0x10
RTM_NEWADDR = 20


def addr_sock():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.bind((0, RTMGRP_IPV4_IFADDR))
    return s


def wait_addr(s, ifindex, timeout):
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            data = s.recv(65536)
        except socket.timeout:
            return None
        now = time.monotonic()
        off = 0
        while off + 16 <= len(data):
            ln, typ = struct.unpack_from("=IH", data, off)
            if typ == RTM_NEWADDR and ln >= 24:
                fam, plen, flags, scope, idx = struct.unpack_from("=BBBBI", data, off + 16)
                if fam == socket.AF_INET and idx == ifindex:
                    return now
            off += (ln + 3) & ~3 if ln else len(data)


def flush():
    subprocess.run(["ip", "-4", "addr", "flush", "dev", IFACE], check=True)
    subprocess.run(["ip", "-4", "route", "flush", "dev", IFACE], check=False,
                   stderr=subprocess.DEVNULL)


def main():
    dhcp, tmp, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    # dhcpcd keeps its pid file, control socket and leases here.
    for d in ("/run", "/var/lib/dhcpcd"):
        if os.path.isdir(d):
            subprocess.run(["mount", "-t", "tmpfs", "tmpfs", d], check=True)
    script = os.path.join(tmp, "udhcpc.script")
    with open(script, "w") as f:
        # What busybox's example script does for "bound", no more: the
        # address and the default route (never resolv.conf).
        f.write("#!/bin/sh\ncase \"$1\" in bound|renew)\n"
                "  ip addr add \"$ip/$mask\" dev \"$interface\"\n"
                "  [ -n \"$router\" ] && ip route add default via ${router%% *} dev \"$interface\"\n"
                "esac\nexit 0\n")
    os.chmod(script, 0o755)
    conf = os.path.join(tmp, "dhcpcd.conf")
    with open(conf, "w") as f:
        # No ARP probe, no initial random delay, IPv4 only: what Haven
        # does by default.
        f.write("noarp\nnodelay\nnoipv6\nnoipv6rs\nnoipv4ll\noption subnet_mask, routers\n")
    lease_dir = os.path.join(tmp, "lease")
    clients = {
        # As shipped: a 100 ms ARP probe of the new address (RFC 5227,
        # shortened) before it is set.
        "haven": [dhcp, "--interface", IFACE, "--lease-dir", lease_dir,
                  "--socket", os.path.join(tmp, "dhcp.sock")],
        # Without it: the same work as dhcpcd with "noarp" and udhcpc.
        "haven-noarp": [dhcp, "--interface", IFACE, "--lease-dir", lease_dir,
                        "--socket", os.path.join(tmp, "dhcp.sock"), "--arp-probe", "0"],
        "udhcpc": ["udhcpc", "-f", "-q", "-n", "-i", IFACE, "-s", script, "-t", "5", "-T", "1"],
        "dhcpcd": ["dhcpcd", "-f", conf, "-1", "-4", "-B", "-c", "/bin/true", IFACE],
    }
    ifindex = socket.if_nametoindex(IFACE)
    times = {k: [] for k in clients}
    for i in range(runs):
        for name, argv in clients.items():
            flush()
            for f in ("%s/%s.lease" % (lease_dir, IFACE),):
                if os.path.exists(f):
                    os.unlink(f)
            subprocess.run("rm -f /var/lib/dhcpcd/*", shell=True)
            s = addr_sock()
            t0 = time.monotonic()
            p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t1 = wait_addr(s, ifindex, 20)
            s.close()
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if t1 is None:
                print("%s: no address in 20 s (run %d)" % (name, i), file=sys.stderr)
                sys.exit(1)
            times[name].append((t1 - t0) * 1000)
    flush()
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        v = sorted(v)
        print("%-11s median %7.1f ms  p90 %7.1f ms  min %7.1f ms  (%d runs)" %
              (k, med[k], v[int(len(v) * 0.9) - 1 if len(v) >= 10 else -1], v[0], len(v)))
    faster = min(med["udhcpc"], med["dhcpcd"])
    for h in ("haven", "haven-noarp"):
        print("%s / udhcpc = %.2fx   / dhcpcd = %.2fx   / faster peer = %.2fx" %
              (h, med[h] / med["udhcpc"], med[h] / med["dhcpcd"], med[h] / faster))


if __name__ == "__main__":
    main()
