#!/usr/bin/env python3
"""telnet-bench — bytes through a telnet session: `cat` of a 100 MB text
file in a shell at the other end, TelnetServer (--no-auth, by hand)
against Debian's inetutils telnetd (`telnetd -E /bin/sh`: a shell instead
of login; inetd-style, so a small accept loop here hands it each
connection as its stdin), same machine, same file, same client, same run.

The client is raw: it refuses every option (both servers then speak NVT,
the same translation of line ends) and counts the bytes until the marker
the shell prints after `cat`. Rounds alternate; the best of each server
is kept (the machine is shared: the best is the least disturbed). The
ratio printed is TelnetServer / telnetd throughput (goal >= 1.0); the
relay process's own CPU time for the transfer is printed too (it moves
less with the machine's load than wall time).
  telnet-bench [--mb N] [--rounds N]
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TS = "@TS_BIN@"
IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_file(path, mb):
    line = (b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/" * 2)[:99] + b"\n"
    with open(path, "wb") as f:
        block = line * 10000
        for _ in range(mb * 1000000 // len(block)):
            f.write(block)
    return os.path.getsize(path)


class Client:
    """Refuses every option, answers nothing else; reads into a counter."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pending = b""

    def _answer(self, data):
        # Only the negotiation at the start matters: cheap scan while small.
        out = bytearray()
        i = data.find(bytes([IAC]))
        while i >= 0 and i + 2 < len(data):
            cmd, opt = data[i + 1], data[i + 2]
            if cmd == DO:
                out += bytes([IAC, WONT, opt])
            elif cmd == WILL:
                out += bytes([IAC, DONT, opt])
            i = data.find(bytes([IAC]), i + 2)
        if out:
            self.s.sendall(bytes(out))

    def until(self, marker, negotiate=False, limit=None):
        """Bytes received until `marker` (checked on the tail)."""
        got = 0
        tail = b""
        while True:
            b = self.s.recv(1 << 20)
            if not b:
                raise RuntimeError("closed before %r" % marker)
            if negotiate:
                self._answer(b)
            got += len(b)
            tail = (tail + b)[-256:]
            if marker in tail:
                return got

    def close(self):
        self.s.close()


def cpu_s(pid):
    """User + system CPU seconds of one process (the relay)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(port, path, size, relay_pid):
    """(MB/s, relay CPU seconds) for one cat; relay_pid() finds the process
    that relays this connection once it is up."""
    c = Client(port)
    c.s.settimeout(120)
    c.s.sendall(b"stty -echo; echo RE''ADY\r\n")
    c.until(b"READY", negotiate=True)
    pid = relay_pid()
    cpu0 = cpu_s(pid)
    t0 = time.monotonic()
    c.s.sendall(b"cat %s; echo EN''D\r\n" % path.encode())
    got = c.until(b"END")
    dt = time.monotonic() - t0
    cpu = cpu_s(pid) - cpu0
    c.s.sendall(b"exit\r\n")
    c.close()
    if got < size:
        raise RuntimeError("only %d of %d bytes" % (got, size))
    return size / dt / 1e6, cpu


def newest_child(pid):
    """The by-hand TelnetServer's newest child: this connection's instance."""
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return max(int(x) for x in f.read().split())


class TelnetdInetd:
    """inetutils telnetd runs from inetd: a connection as fds 0-2."""

    def __init__(self, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.procs = []
        self.stop = False
        self.th = threading.Thread(target=self.loop, daemon=True)
        self.th.start()

    def loop(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            p = subprocess.Popen(["telnetd", "-h", "-E", "/bin/sh"], stdin=conn, stdout=conn,
                                 stderr=subprocess.DEVNULL)
            conn.close()
            self.procs.append(p)

    def close(self):
        self.stop = True
        self.sock.close()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser(description="TelnetServer vs inetutils telnetd: cat of a file")
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    if not shutil.which("telnetd"):
        print("telnetd (inetutils-telnetd) not installed: skipped")
        return 0
    with tempfile.TemporaryDirectory(prefix="haven-telnet-bench-") as tmp:
        path = os.path.join(tmp, "big.txt")
        size = make_file(path, a.mb)
        env = dict(os.environ, SHELL="/bin/sh")
        tport, dport = free_port(), free_port()
        ts = subprocess.Popen([TS, "--port", str(tport), "--no-auth"], stderr=subprocess.DEVNULL, env=env)
        td = TelnetdInetd(dport)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", tport)).close()
                    break
                except OSError:
                    time.sleep(0.05)
            best = {"TelnetServer": 0.0, "telnetd": 0.0}
            cpu = {"TelnetServer": 1e9, "telnetd": 1e9}
            relays = (("TelnetServer", tport, lambda: newest_child(ts.pid)),
                      ("telnetd", dport, lambda: td.procs[-1].pid))
            for r in range(a.rounds):
                for name, port, relay in relays:
                    mbs, secs = one_run(port, path, size, relay)
                    best[name] = max(best[name], mbs)
                    cpu[name] = min(cpu[name], secs)
                    print("round %d  %-12s %8.1f MB/s  relay CPU %.2f s" % (r + 1, name, mbs, secs),
                          flush=True)
        finally:
            ts.send_signal(signal.SIGTERM)
            ts.wait()
            td.close()
    print("cat of %d MB through a telnet session, best of %d: TelnetServer %.1f MB/s, "
          "telnetd %.1f MB/s, ratio %.2fx (goal >= 1.0)"
          % (size // 1000000, a.rounds, best["TelnetServer"], best["telnetd"],
             best["TelnetServer"] / best["telnetd"]))
    print("the relay's own CPU for it (least of %d; steadier than wall time on a busy machine): "
          "TelnetServer %.2f s, telnetd %.2f s, ratio %.2fx (telnetd / TelnetServer)"
          % (a.rounds, cpu["TelnetServer"], cpu["telnetd"], cpu["telnetd"] / max(cpu["TelnetServer"], 1e-9)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
