#!/usr/bin/env python3
"""webserver-bench — WebServer against nginx, same machine, same files, same
run, with wrk over loopback (both with sendfile on and the access log off):

  1. keep-alive on a 1 KB file, wrk -t2 -c50, one worker each, then two;
  2. a 100 MB file, throughput;
  3. a new connection per request (Connection: close);
  4. 10,000 idle keep-alive connections held open while wrk runs, then
     each of them asked for the file (all must be answered).

Each pair is measured alternately, ROUNDS times, and the best of each is
kept (the machine is shared: the best is the least disturbed). The ratio
printed is WebServer / nginx (goal >= 1.0).
  webserver-bench [--seconds S] [--rounds N]
"""
import os
import re
import subprocess
import sys
import tempfile

WS = "@WS_BIN@"
sys.path.insert(0, "@SRC@/tests/WebServer")
os.environ["WS_BIN"] = WS
import test_webserver as t  # noqa: E402  (Server, Nginx: the test's own)


def wrk(port, path, seconds, threads=2, conns=50, close=False):
    args = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds]
    if close:
        args += ["-H", "Connection: close"]
    p = subprocess.run(args + ["http://127.0.0.1:%d%s" % (port, path)], capture_output=True, text=True,
                       timeout=seconds * 4 + 30)
    m = re.search(r"Requests/sec:\s+([\d.]+)", p.stdout)
    b = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", p.stdout)
    if not m or "Non-2xx" in p.stdout:
        raise SystemExit("wrk failed:\n" + p.stdout + p.stderr)
    unit = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}[b.group(2)]
    return float(m.group(1)), float(b.group(1)) * unit / (1 << 20)


def pair(tmp, root, label, workers, rounds, run):
    ws = t.Server(tmp, root, "--workers", str(workers), "--no-access-log")
    ng = t.Nginx(tmp, root, workers=workers)
    best = {"ws": 0.0, "ng": 0.0}
    try:
        for _ in range(rounds):
            best["ws"] = max(best["ws"], run(ws.port))
            best["ng"] = max(best["ng"], run(ng.port))
    finally:
        ws.stop()
        ng.stop()
    print("%-44s WebServer %10.1f   nginx %10.1f   ratio %.2fx" % (label, best["ws"], best["ng"],
                                                                  best["ws"] / best["ng"]), flush=True)


def idle_then_wrk(port, seconds, n=10000):
    """req/s of wrk with n idle keep-alive connections open; every idle one
    must still answer afterwards."""
    import socket
    idle = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"GET /1k.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        idle.append(s)
    for s in idle:  # one answer each: now idle on keep-alive
        got = b""
        while len(got) < 1024 or b"\r\n\r\n" not in got:
            b = s.recv(65536)
            if not b:
                raise SystemExit("an idle connection was closed")
            got += b
    rps = wrk(port, "/1k.bin", seconds)[0]
    for s in idle:
        s.sendall(b"GET /1k.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    served = 0
    for s in idle:
        got = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
        served += got.startswith(b"HTTP/1.1 200")
        s.close()
    if served != n:
        raise SystemExit("only %d of %d idle connections answered afterwards" % (served, n))
    return rps


def main():
    seconds, rounds = 5, 3
    args = sys.argv[1:]
    while args:
        a = args.pop(0)
        if a == "--seconds":
            seconds = int(args.pop(0))
        elif a == "--rounds":
            rounds = int(args.pop(0))
        else:
            print(__doc__)
            return 2
    tmp = tempfile.mkdtemp(prefix="ws-bench-")
    os.chmod(tmp, 0o755)
    root = os.path.join(tmp, "root")
    os.mkdir(root)
    with open(os.path.join(root, "1k.bin"), "wb") as f:
        f.write(os.urandom(1024))
    with open(os.path.join(root, "100m.bin"), "wb") as f:
        for _ in range(100):
            f.write(os.urandom(1 << 20))
    print("wrk over loopback, %d s per run, best of %d, nproc %d" % (seconds, rounds, os.cpu_count()))
    try:
        for w in (1, 2):
            pair(tmp, root, "1 KB keep-alive -t2 -c50, %d worker(s) (req/s)" % w, w, rounds,
                 lambda port: wrk(port, "/1k.bin", seconds)[0])
        pair(tmp, root, "100 MB file -t1 -c2, 1 worker (MiB/s)", 1, rounds,
             lambda port: wrk(port, "/100m.bin", seconds, threads=1, conns=2)[1])
        pair(tmp, root, "1 KB Connection: close -t2 -c50, 1 worker (req/s)", 1, rounds,
             lambda port: wrk(port, "/1k.bin", seconds, close=True)[0])
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard >= 12000:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            pair(tmp, root, "1 KB keep-alive with 10,000 idle conns (req/s)", 1, 1,
                 lambda port: idle_then_wrk(port, seconds))
        else:
            print("10,000 idle connections: RLIMIT_NOFILE hard limit %d is too low" % hard)
    finally:
        subprocess.run(["rm", "-rf", tmp])
    return 0


if __name__ == "__main__":
    sys.exit(main())
