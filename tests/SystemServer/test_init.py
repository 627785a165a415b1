#!/usr/bin/env python3
"""SystemServer as the init: PID 1 of fresh PID + mount + UTS + network
namespaces (unshare), with test definitions (sh services that record what
they see). Skipped, with the reason, where unshare is not permitted.

  test_init.py TEST   (paths from SS_BIN, SS_SVC)

boot: PID 1; the missing /sys and /dev/shm mounted; the hostname from a
  private /etc/hostname; lo up; haven.mode= from a private /proc/cmdline
  picks the services, started in dependency order; 100 orphans of a
  double-forking service reaped (no zombie); svc status --boot; a service
  that ignores SIGTERM killed after its TimeoutStopSec; SIGTERM to PID 1
  stops the services in reverse order, the final stage SIGTERMs the
  daemon no service owns, and the namespace exits 0.
reboot: svc reboot ends the namespace as the kernel does for reboot(2) in
  a PID namespace: killed by SIGHUP.
emergency: a definitions directory that cannot be read lands in the
  emergency shell (a script that records it ran), then exits 1.
crash: so does a fatal signal (SIGSEGV) to PID 1.
subreaper: in user mode the manager is its services' subreaper: a
  service's orphan is re-parented to it and reaped; svc poweroff is
  refused there (not the init).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile

SS = os.environ.get("SS_BIN")
SVC = os.environ.get("SS_SVC")
TIMEOUT = 60.0
SKIP = 77


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from haventest import Fail, check  # noqa: E402
import haventest  # noqa: E402


def wait_for(cond, what, timeout=TIMEOUT):
    return haventest.wait_for(cond, what, timeout)


def stat_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return None
    rest = st[st.rindex(")") + 2:].split()
    return rest[0], int(rest[1])  # state, ppid


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            s = stat_of(int(d))
            if s and s[1] == ppid:
                out.append((int(d), s[0]))
    return out


def sh_service(name, script, extra=""):
    return "[%s]\nExecutable=/bin/sh\nArguments=-c %s\n%s\n" % (name, quote(script), extra)


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unshare_ok():
    try:
        return subprocess.run(["unshare", "--pid", "--fork", "--mount", "--uts", "--net",
                               "--mount-proc", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class Boot:
    """One namespace with SystemServer --init as its PID 1."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.etc = os.path.join(tmp, "etc")
        self.rt = os.path.join(tmp, "rt")
        self.rec = os.path.join(tmp, "rec")
        self.log = os.path.join(tmp, "init.log")
        os.mkdir(self.etc)
        open(self.rec, "w").close()
        self.proc = None

    def define(self, fname, text):
        with open(os.path.join(self.etc, fname), "w") as f:
            f.write(text)

    def record(self, what):
        return "echo %s >> %s" % (what, self.rec)

    def start(self, prelude="", extra=()):
        args = [SS, "--init", "--config", self.etc, "--runtime-dir", self.rt] + list(extra)
        script = prelude + 'exec "$@"'
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen(["unshare", "--pid", "--fork", "--mount", "--uts", "--net",
                                      "--mount-proc", "sh", "-c", script, "sh"] + args,
                                     stdout=self.logf, stderr=subprocess.STDOUT)

    def init_pid(self):
        """PID 1's pid as seen from here: the unshare process's child."""
        kids = children(self.proc.pid)
        return kids[0][0] if kids else None

    def ready(self):
        wait_for(lambda: "all services started" in self.read_log(), "the boot")

    def read_log(self):
        with open(self.log) as f:
            return f.read()

    def records(self):
        with open(self.rec) as f:
            return f.read().split("\n")

    def svc(self, *args):
        p = subprocess.run([SVC, "--socket", os.path.join(self.rt, "portal", "SystemServer")] + list(args),
                           capture_output=True, text=True, timeout=TIMEOUT)
        check(p.returncode == 0, "svc %s: %d %s" % (" ".join(args), p.returncode, p.stderr))
        return p.stdout

    def wait(self):
        try:
            return self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            raise Fail("the namespace did not end")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_boot(b):
    with open(os.path.join(b.tmp, "hostname"), "w") as f:
        f.write("haven-test\n")
    with open(os.path.join(b.tmp, "cmdline"), "w") as f:
        f.write("ro quiet haven.mode=text\n")
    probe = os.path.join(b.tmp, "probe")
    with open(probe, "w") as f:
        f.write("echo \"start A pid=$$ host=$(hostname) lo=$(cat /sys/class/net/lo/flags) "
                "shm=$(awk '$2==\"/dev/shm\"{print $3}' /proc/mounts) "
                "nets=$(ls /sys/class/net | tr '\\n' ,)\" >> %s\n" % b.rec)
    probe = ". " + probe
    loop = "trap '%s; exit 0' TERM; while :; do sleep 0.05; done"
    b.define("a.ini", sh_service("A", probe + "; " + loop % b.record("stop A"), "SystemModes=text"))
    b.define("b.ini", sh_service("B", b.record("start B") + "; " + loop % b.record("stop B"),
                                 "SystemModes=text\nRequires=A\nAfter=A"))
    b.define("c.ini", sh_service("C", b.record("start C"), "SystemModes=graphical"))
    # Double forks: each sleeper's parent exits at once, so it is re-parented
    # to PID 1, which must reap it when it ends.
    b.define("o.ini", sh_service("Orphans", "for i in $(seq 100); do (sleep 0.3 &); done; "
                                 + b.record("forked") + "; " + loop % b.record("stop O"),
                                 "SystemModes=text\nAfter=B"))
    # A daemon no service owns: only the final stage's SIGTERM ends it.
    b.define("l.ini", sh_service("Leaver", "(exec sleep 1000 &); " + b.record("left"), "SystemModes=text"))
    b.define("s.ini", sh_service("Stubborn", "trap '' TERM; " + b.record("start S")
                                 + "; while :; do sleep 0.05; done",
                                 "SystemModes=text\nTimeoutStopSec=0.5"))
    # What init must mount: gone from this mount namespace (all layers).
    prelude = ("while umount -l /sys 2>/dev/null; do :; done; "
               "while umount -l /dev/shm 2>/dev/null; do :; done; mount --bind %s/hostname /etc/hostname && "
               "mount --bind %s/cmdline /proc/cmdline && " % (b.tmp, b.tmp))
    b.start(prelude)
    b.ready()
    pid1 = b.init_pid()
    check(pid1, "a PID 1 in the namespace")
    wait_for(lambda: "forked" in b.records() and
             any(r.startswith("start A") for r in b.records()), "the services")
    starts = [r.split()[1] for r in b.records() if r.startswith("start ")]
    check("C" not in starts, "C is not in mode text: %r" % starts)
    # Started in dependency order: A (ready at exec), then B, then Orphans.
    boot = b.svc("status", "--boot", "--json")
    import json
    t = {x["name"]: x for x in json.loads(boot)}
    check(0 < t["A"]["started_us"] <= t["A"]["ready_us"] <= t["B"]["started_us"]
          <= t["B"]["ready_us"] <= t["Orphans"]["started_us"], "mode order: %r" % t)
    check(t["C"]["started_us"] == 0, "C never started: %r" % t)
    a = [r for r in b.records() if r.startswith("start A")][0].split()
    facts = dict(w.split("=", 1) for w in a[2:])
    check(facts["pid"] != "1" and int(facts["pid"]) < 20, "services run in the new PID namespace: %r" % a)
    check(facts["host"] == "haven-test", "hostname from /etc/hostname: %r" % a)
    check(int(facts["lo"], 16) & 1, "lo is up: %r" % a)
    check(facts["nets"] == "lo,", "/sys is the namespace's own sysfs: %r" % a)
    check(facts["shm"] == "tmpfs", "/dev/shm mounted: %r" % a)
    # All 100 sleepers end within 0.3 s: none may stay a zombie of PID 1.
    wait_for(lambda: not [p for p, s in children(pid1) if s == "Z"] and
             len(children(pid1)) <= 6, "PID 1 to reap every orphan (%r)" % children(pid1))
    check("mode text" in b.read_log(), "the boot mode from the kernel command line")
    boot = b.svc("status", "--boot")
    print(boot)
    for n in ("A", "B", "Orphans"):
        check(any(ln.endswith("  " + n) and "ms" in ln for ln in boot.split("\n")), "boot time of %s:\n%s" % (n, boot))
    os.kill(pid1, signal.SIGTERM)
    rc = b.wait()
    stops = [r.split()[1] for r in b.records() if r.startswith("stop ")]
    print("records: %r" % b.records())
    check(stops.index("O") < stops.index("B") < stops.index("A"), "reverse order: %r" % stops)
    check("Stubborn" in b.read_log() and "killed" in b.read_log(), "Stubborn killed after its timeout")
    check(rc == 0, "the namespace exits 0 after SIGTERM, not %d" % rc)
    import re
    m = re.search(r"poweroff: sent SIGTERM to (\d+) remaining", b.read_log())
    # The daemon, and perhaps a stopped service's last `sleep 0.05`.
    check(m and int(m.group(1)) >= 1, "the final stage ends the daemon no service owned")


def test_reboot(b):
    b.define("a.ini", sh_service("A", "trap 'exit 0' TERM; while :; do sleep 0.05; done"))
    b.start()
    b.ready()
    b.svc("reboot")
    rc = b.wait()
    check(rc == -signal.SIGHUP, "reboot(2) in a PID namespace: killed by SIGHUP, not %d" % rc)
    check("reboot: sent SIGTERM to" in b.read_log(), "the final stage ran")


def test_emergency(b):
    shell = os.path.join(b.tmp, "shell")
    with open(shell, "w") as f:
        f.write("#!/bin/sh\necho \"ran pid=$$ why=$HAVEN_EMERGENCY\" > %s/emergency\n" % b.tmp)
    os.chmod(shell, 0o755)
    os.rmdir(b.etc)  # the definitions cannot be read
    b.start(extra=["--emergency-shell", shell])
    rc = b.wait()
    with open(os.path.join(b.tmp, "emergency")) as f:
        ran = f.read()
    check("why=the service manager failed" in ran, "the emergency shell ran: %r" % ran)
    check(rc == 1, "then the namespace ends with 1, not %d" % rc)


def test_crash(b):
    """A fatal signal to PID 1 (SIGSEGV, here sent from outside: the kernel
    delivers it only to a handler) lands in the emergency shell, not a dead
    namespace; then status 1."""
    shell = os.path.join(b.tmp, "shell")
    with open(shell, "w") as f:
        f.write("#!/bin/sh\necho \"ran why=$HAVEN_EMERGENCY\" > %s/emergency\n" % b.tmp)
    os.chmod(shell, 0o755)
    b.define("a.ini", sh_service("A", "trap 'exit 0' TERM; while :; do sleep 0.05; done"))
    b.start(extra=["--emergency-shell", shell])
    b.ready()
    os.kill(b.init_pid(), signal.SIGSEGV)
    rc = b.wait()
    path = os.path.join(b.tmp, "emergency")
    check(os.path.exists(path), "the emergency shell ran after SIGSEGV (rc %d)" % rc)
    with open(path) as f:
        ran = f.read()
    check("why=SystemServer crashed" in ran, "the reason: %r" % ran)
    check(rc == 1, "then the namespace ends with 1, not %d" % rc)


def test_subreaper(tmp):
    """User mode: a service's orphan is re-parented to the manager (its
    subreaper) and reaped when it exits."""
    etc = os.path.join(tmp, "etc")
    os.mkdir(etc)
    rec = os.path.join(tmp, "rec")
    with open(os.path.join(etc, "o.ini"), "w") as f:
        f.write(sh_service("O", "(sleep 2 & echo $! > %s); trap 'exit 0' TERM; while :; do sleep 0.05; done" % rec))
    xdg = os.path.join(tmp, "xdg")
    os.mkdir(xdg, 0o700)
    log = open(os.path.join(tmp, "log"), "w")
    mgr = subprocess.Popen([SS, "--user", "--config", etc, "--runtime-dir", os.path.join(tmp, "rt")],
                           env=dict(os.environ, XDG_RUNTIME_DIR=xdg), stdout=log, stderr=subprocess.STDOUT)
    try:
        pid = wait_for(lambda: os.path.exists(rec) and open(rec).read().strip(), "the orphan")
        pid = int(pid)
        # Its parent is the subshell until that exits, then the manager.
        wait_for(lambda: (stat_of(pid) or ("", 0))[1] == mgr.pid,
                 "the orphan re-parented to the manager (%r)" % (stat_of(pid),))
        wait_for(lambda: stat_of(pid) is None, "the manager to reap its orphan (state %r)" % (stat_of(pid),))
        # Outside init: svc poweroff is refused, the manager keeps running.
        sock = os.path.join(tmp, "rt", "portal", "SystemServer")
        p = subprocess.run([SVC, "--socket", sock, "poweroff"], capture_output=True, text=True, timeout=TIMEOUT)
        check(p.returncode == 1 and "not the init" in p.stderr, "svc poweroff outside init: %r" % (p,))
        p = subprocess.run([SVC, "--socket", sock, "status", "--boot", "O"], capture_output=True, text=True,
                           timeout=TIMEOUT)
        check(p.returncode == 2, "status --boot NAME is a usage error: %r" % (p,))
        check(mgr.poll() is None, "the manager still runs")
    finally:
        mgr.send_signal(signal.SIGTERM)
        mgr.wait(TIMEOUT)


def test_boot_script(b):
    """scripts/boot (make boot) with the shipped definitions: PID 1 in fresh
    namespaces, every shipped service listening, a command run inside."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "boot")
    build = os.path.dirname(os.path.dirname(os.path.dirname(SS)))
    p = subprocess.run([script, build, "sh", "-c", "echo pid1=$(cat /proc/1/comm); svc status"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    print(p.stdout + p.stderr)
    check(p.returncode == 0, "scripts/boot exits 0")
    check("pid1=SystemServer" in p.stdout, "SystemServer is PID 1 inside")
    shipped = sorted(f[:-4] for f in os.listdir(os.path.join(os.path.dirname(script), "..", "etc", "services"))
                     if f.endswith(".ini"))
    for n in shipped:
        check(any(ln.startswith(n + " ") and ("listening" in ln or "running" in ln)
                  for ln in p.stdout.split("\n")), "%s is up:\n%s" % (n, p.stdout))


TESTS = {"crash": test_crash, "boot_script": test_boot_script, "boot": test_boot, "reboot": test_reboot, "emergency": test_emergency}


def main():
    name = sys.argv[1] if len(sys.argv) == 2 else ""
    if name not in list(TESTS) + ["subreaper"]:
        print("usage: test_init.py {%s}" % ",".join(list(TESTS) + ["subreaper"]), file=sys.stderr)
        return 2
    if not SS or not SVC:
        print("SKIP: SS_BIN and SS_SVC needed")
        return SKIP
    tmp = tempfile.mkdtemp(prefix="ss-init-")
    os.chmod(tmp, 0o755)
    b = None
    try:
        if name == "subreaper":
            test_subreaper(tmp)
        else:
            if os.geteuid() != 0 or not unshare_ok():
                print("SKIP: unshare --pid --mount --uts --net is not permitted here")
                return SKIP
            b = Boot(tmp)
            TESTS[name](b)
    except (Fail, OSError) as e:
        print("FAIL %s: %s" % (name, e))
        if b and os.path.exists(b.log):
            print("--- init log ---\n" + b.read_log())
        return 1
    finally:
        if b:
            b.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok %s" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
