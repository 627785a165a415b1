#!/usr/bin/env python3
"""fake-server.py — a DHCP server that says what the test wants, in the
server namespace of netns-fixture.sh (UDP 67 on veth-s; every reply is
broadcast, so no ARP is involved).

  fake-server.py --lease N [--t1 N --t2 N] [--answers N] [--hostile] [--log FILE]

--answers N: answer N REQUESTs, then stay silent (expiry tests).
--hostile: before each good reply, send what a broken or hostile server
  might: truncated options, an option overload pointing at garbage, an
  offer for another xid, offers with lease 0 and no lease, an ACK for an
  address never offered, then a flood of 2000 junk datagrams.
The log has one line per message received ("DISCOVER xid=..", "REQUEST
ciaddr=.. xid=..") and per good reply sent.
"""
import argparse
import os
import socket
import struct
import sys

SERVER = bytes([10, 77, 0, 1])
OFFERED = bytes([10, 77, 0, 123])
MAGIC = b"\x63\x82\x53\x63"
NAMES = {1: "DISCOVER", 3: "REQUEST", 4: "DECLINE", 7: "RELEASE"}


def opt(code, data):
    return bytes([code, len(data)]) + data


def reply(req, mtype, yiaddr=OFFERED, xid=None, options=b"", lease=None, end=True,
          sname=b"", file=b""):
    xid = req["xid"] if xid is None else xid
    head = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 2, 1, 6, 0, xid, 0, 0,
                       b"\0" * 4, yiaddr, SERVER, b"\0" * 4, req["chaddr"],
                       sname.ljust(64, b"\0"), file.ljust(128, b"\0"))
    body = opt(53, bytes([mtype])) + opt(54, SERVER)
    if lease is not None:
        body += opt(51, struct.pack("!I", lease))
    body += options
    return head + MAGIC + body + (b"\xff" if end else b"")


def good_options(args):
    o = opt(1, bytes([255, 255, 255, 0])) + opt(3, SERVER) + opt(6, SERVER)
    if args.t1:
        o += opt(58, struct.pack("!I", args.t1)) + opt(59, struct.pack("!I", args.t2))
    # Classless routes: 10.99.0.0/16 via the server, and the default.
    o += opt(121, bytes([16, 10, 99]) + SERVER + bytes([0]) + SERVER)
    return o


def hostile(sock, req, args):
    dst = ("255.255.255.255", 68)
    bad = [
        # an option whose length runs past the message
        reply(req, 2, yiaddr=bytes([10, 77, 0, 64]), end=False) + bytes([51, 40, 0, 0]),
        # overload (52=3) with file and sname full of a truncated option
        reply(req, 2, yiaddr=bytes([10, 77, 0, 65]), lease=60, options=opt(52, b"\x03"),
              file=b"\x33\xff\x00", sname=b"\x01\x7f"),
        # another transaction's offer (each bad offer has an address of
        # its own: a client that took one would ask for it)
        reply(req, 2, yiaddr=bytes([10, 77, 0, 66]), xid=(req["xid"] ^ 0x5a5a5a5a), lease=60,
              options=good_options(args)),
        # a lease of 0 seconds, and none at all
        reply(req, 2, yiaddr=bytes([10, 77, 0, 67]), lease=0, options=good_options(args)),
        reply(req, 2, yiaddr=bytes([10, 77, 0, 68]), options=good_options(args)),
        # an ACK for an address this client never asked for, in SELECTING
        reply(req, 5, yiaddr=bytes([10, 77, 0, 200]), lease=60, options=good_options(args)),
        # no magic cookie; a header cut short
        reply(req, 2, lease=60)[:236] + b"\0\0\0\0",
        reply(req, 2, lease=60)[:100],
        # classless routes with a width of 40, a domain with control bytes
        reply(req, 2, lease=60, options=opt(121, bytes([40, 1, 2, 3, 4, 5])) +
              opt(15, b"a\x1b[2Jb")),
    ]
    for b in bad:
        sock.sendto(b, dst)
    junk = os.urandom(300)
    for i in range(2000):
        sock.sendto(junk[: 1 + i % 300], dst)


def parse(data):
    if len(data) < 240 or data[236:240] != MAGIC:
        return None
    xid, = struct.unpack("!I", data[4:8])
    req = {"xid": xid, "ciaddr": socket.inet_ntoa(data[12:16]), "chaddr": data[28:44],
           "type": 0}
    i = 240
    while i + 1 < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        code, ln = data[i], data[i + 1]
        if code == 53 and ln == 1:
            req["type"] = data[i + 2]
        if code == 50 and ln == 4:
            req["requested"] = data[i + 2:i + 6]
        i += 2 + ln
    return req


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lease", type=int, required=True)
    ap.add_argument("--t1", type=int, default=0)
    ap.add_argument("--t2", type=int, default=0)
    ap.add_argument("--answers", type=int, default=-1)
    ap.add_argument("--hostile", action="store_true")
    ap.add_argument("--log", default="/dev/stderr")
    args = ap.parse_args()
    log = open(args.log, "a", buffering=1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"veth-s")
    s.bind(("0.0.0.0", 67))
    print("ready", file=log)
    answered = 0
    while True:
        data, _ = s.recvfrom(2048)
        req = parse(data)
        if not req:
            continue
        name = NAMES.get(req["type"], str(req["type"]))
        print(f"{name} ciaddr={req['ciaddr']} xid={req['xid']:08x}", file=log)
        if req["type"] not in (1, 3):
            continue
        if req["type"] == 3:
            if args.answers >= 0 and answered >= args.answers:
                print("silent", file=log)
                continue
            answered += 1
        if args.hostile:
            hostile(s, req, args)
        mtype = 2 if req["type"] == 1 else 5
        # An ACK is for what was asked (option 50, or ciaddr when renewing).
        yiaddr = OFFERED
        if mtype == 5:
            yiaddr = req.get("requested") or socket.inet_aton(req["ciaddr"])
        s.sendto(reply(req, mtype, yiaddr=yiaddr, lease=args.lease, options=good_options(args)),
                 ("255.255.255.255", 68))
        print(f"sent {'OFFER' if mtype == 2 else 'ACK'} lease={args.lease}", file=log)


if __name__ == "__main__":
    sys.exit(main())
