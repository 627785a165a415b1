#!/usr/bin/env python3
"""boot-bench — SystemServer as PID 1 vs s6-svscan (Debian's s6) as PID 1,
each in fresh PID + mount + UTS + network namespaces (unshare), with the
same N services: boot to "all started" and shutdown, in the same run,
interleaved, with the ratio printed.

Each service is the same run script for both (`echo x >> MARK; exec sleep`),
so "started" is measured the same way for both: the moment the mark file
holds N lines (polled every 0.2 ms from outside), from the moment unshare
is spawned. SystemServer execs the script (Readiness=exec, no ordering);
s6-svscan starts an s6-supervise per service directory, which execs ./run.
Shutdown: SIGTERM to PID 1 until unshare has exited (SystemServer: ordered
stop and its final stage; s6-svscan: SIGTERM is `s6-svscanctl -t`).

  boot-bench [--services N] [--runs R]     (root; SS_BIN / the build's)
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

# Run from the build tree (build/bench/SystemServer/boot-bench): its manager.
SS = os.environ.get("SS_BIN") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                              "services", "SystemServer", "SystemServer")


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            if int(st[st.rindex(")") + 2:].split()[1]) == ppid:
                out.append(int(d))
    return out


def unshare(cmd):
    return subprocess.Popen(["unshare", "--pid", "--fork", "--mount", "--uts", "--net", "--mount-proc"] + cmd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def one(kind, tmp, n, run_script):
    mark = os.path.join(tmp, "mark")
    open(mark, "w").close()
    work = tempfile.mkdtemp(dir=tmp)
    if kind == "SystemServer":
        etc = os.path.join(work, "etc")
        os.mkdir(etc)
        for i in range(n):
            with open(os.path.join(etc, "s%02d.ini" % i), "w") as f:
                f.write("[S%02d]\nExecutable=%s\nStdIO=null\n" % (i, run_script))
        cmd = [SS, "--init", "--config", etc, "--runtime-dir", os.path.join(work, "rt")]
    else:
        scan = os.path.join(work, "scan")
        os.mkdir(scan)
        for i in range(n):
            d = os.path.join(scan, "s%02d" % i)
            os.mkdir(d)
            os.symlink(run_script, os.path.join(d, "run"))
        cmd = ["s6-svscan", scan]
    t0 = time.monotonic()
    p = unshare(cmd)
    want = 2 * n  # "x\n" per service
    while os.path.getsize(mark) < want:
        if p.poll() is not None:
            raise SystemExit("%s ended before its services started" % kind)
        time.sleep(0.0002)
    boot = time.monotonic() - t0
    pid1 = None
    while not pid1:
        kids = children(p.pid)
        pid1 = kids[0] if kids else None
    t1 = time.monotonic()
    os.kill(pid1, signal.SIGTERM)
    p.wait(60)
    down = time.monotonic() - t1
    shutil.rmtree(work, ignore_errors=True)
    return boot, down


def main():
    ap = argparse.ArgumentParser(description="SystemServer vs s6-svscan as PID 1: boot and shutdown")
    ap.add_argument("--services", type=int, default=8, help="services (default 8, the shipped count)")
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    if os.geteuid() != 0 or not shutil.which("s6-svscan") or not shutil.which("unshare"):
        print("boot-bench: skipped (needs root, unshare and s6-svscan: apt-get install s6)")
        return 0
    tmp = tempfile.mkdtemp(prefix="boot-bench-")
    os.chmod(tmp, 0o755)
    run_script = os.path.join(tmp, "run")
    with open(run_script, "w") as f:
        f.write("#!/bin/sh\necho x >> %s/mark\nexec sleep 100000\n" % tmp)
    os.chmod(run_script, 0o755)
    res = {"SystemServer": [], "s6": []}
    try:
        for _ in range(a.runs):
            for kind in ("SystemServer", "s6"):  # interleaved: the same machine state
                res[kind].append(one(kind, tmp, a.services, run_script))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: (statistics.median(b for b, _ in v) * 1e3, statistics.median(d for _, d in v) * 1e3)
           for k, v in res.items()}
    print("%d services, %d runs each, PID 1 of fresh pid+mount+uts+net namespaces (medians)" % (a.services, a.runs))
    for k in ("SystemServer", "s6"):
        print("  %-12s boot to all started %7.2f ms   shutdown %7.2f ms" % (k, med[k][0], med[k][1]))
    print("  ratio SystemServer/s6: boot %.2fx, shutdown %.2fx" %
          (med["SystemServer"][0] / med["s6"][0], med["SystemServer"][1] / med["s6"][1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
