#!/usr/bin/env python3
"""SystemServer end-to-end tests: a real manager, real sockets, real children.

Each test writes definitions into a fresh temp dir, starts SystemServer on
it, waits for its READY=1 (sent on NOTIFY_SOCKET once boot is over), talks to
the services through their sockets, and reads what ss-testd recorded. No
timed assertions: waits poll a condition with a generous limit only to
avoid hanging.

  test_systemserver.py TEST   (paths come from SS_BIN, SS_TESTD, SS_SVC)
"""
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SS = os.environ.get("SS_BIN")
TESTD = os.environ.get("SS_TESTD")
SVC = os.environ.get("SS_SVC", "")
INJECT = os.environ.get("SS_INJECT", "")
TIMEOUT = 60.0
SKIP = 77


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from haventest import Fail, check  # noqa: E402
import haventest  # noqa: E402


def wait_for(cond, what, timeout=TIMEOUT):
    return haventest.wait_for(cond, what, timeout)


def become_subreaper():
    """Orphans of a failed test (a crashed manager's services) become our
    children, so cleanup can find and end every one of them."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def kill_descendants():
    me = os.getpid()
    for _ in range(50):
        kids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            ppid = int(st[st.rindex(")") + 2:].split()[1])
            if ppid == me:
                kids.append(int(d))
        if not kids:
            return
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except OSError:
                pass
        for k in kids:
            try:
                os.waitpid(k, 0)
            except OSError:
                pass


def pid_alive(pid):
    """True while the process exists (also as a zombie: so this proves the
    manager reaped it)."""
    return os.path.exists("/proc/%d" % pid)


class Harness:
    def __init__(self, system=False):
        self.tmp = tempfile.mkdtemp(prefix="ss-test-")
        self.system = system
        if system:
            os.chmod(self.tmp, 0o755)  # other uids must reach the portals
        self.etc = os.path.join(self.tmp, "etc")
        self.rt = os.path.join(self.tmp, "rt")
        self.xdg = os.path.join(self.tmp, "xdg")
        self.rec = os.path.join(self.tmp, "record")
        os.mkdir(self.etc)
        os.mkdir(self.xdg, 0o700)
        self.proc = None
        self.notify = None
        self.log = os.path.join(self.tmp, "manager.log")
        # services running as other users append to it too
        open(self.rec, "w").close()
        os.chmod(self.rec, 0o666)

    # --- definitions -----------------------------------------------------
    def define(self, fname, text):
        with open(os.path.join(self.etc, fname), "w") as f:
            f.write(text)

    def service(self, name, args="", extra="", fname=None):
        """A ss-testd service that records to the shared record file."""
        self.define(fname or name + ".ini",
                    "[%s]\nExecutable=ss-testd\nArguments=--record %s %s\n%s\n"
                    % (name, self.rec, args, extra))

    # --- manager -----------------------------------------------------------
    def start(self, *extra):
        npath = os.path.join(self.tmp, "notify")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(npath)
        env = dict(os.environ)
        env.update(NOTIFY_SOCKET=npath, XDG_RUNTIME_DIR=self.xdg, HAVEN_LOG="debug")
        args = [SS, "--runtime-dir", self.rt, "--config", self.etc,
                "--service-path", os.path.dirname(TESTD)]
        if not self.system:
            args.insert(1, "--user")
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen(args + list(extra), env=env, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        self.wait_notify("READY=1")

    def wait_notify(self, what):
        self.notify.settimeout(TIMEOUT)
        while True:
            try:
                msg = self.notify.recv(4096).decode()
            except socket.timeout:
                raise Fail("manager never sent " + what + "\n" + self.manager_log())
            if what in msg.split("\n"):
                return

    def manager_log(self):
        with open(self.log) as f:
            return f.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            raise Fail("manager did not exit after SIGTERM")
        check(rc == 0, "manager exit status %d\n%s" % (rc, self.manager_log()))
        return rc

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        kill_descendants()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- services ----------------------------------------------------------
    def portal(self, name):
        return os.path.join(self.rt, "portal", name)

    def connect(self, name):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        s.connect(self.portal(name))
        return s

    @staticmethod
    def hello(s):
        """Read the greeting line: {'name':…, 'pid':…, 'uid':…}."""
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1)
            if not chunk:
                raise Fail("connection closed before hello (got %r)" % buf)
            buf += chunk
        words = buf.decode().split()
        check(words[0] == "hello", "bad greeting %r" % buf)
        d = {"name": words[1]}
        for w in words[2:]:
            k, v = w.split("=", 1)
            d[k] = v
        return d

    def records(self, event=None, name=None):
        try:
            with open(self.rec) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for ln in lines:
            w = ln.split()
            d = {"event": w[0], "name": w[1]}
            for x in w[2:]:
                if "=" in x:
                    k, v = x.split("=", 1)
                    d[k] = v
            if (event is None or d["event"] == event) and (name is None or d["name"] == name):
                out.append(d)
        return out

    def svc(self, *args, check_rc=True):
        env = dict(os.environ, XDG_RUNTIME_DIR=self.xdg)
        p = subprocess.run([SVC, "--socket", self.portal("SystemServer")] + list(args),
                           env=env, capture_output=True, text=True, timeout=TIMEOUT)
        if check_rc and p.returncode != 0:
            raise Fail("svc %s: rc %d: %s" % (" ".join(args), p.returncode, p.stderr))
        return p

    def status(self, name):
        for s in json.loads(self.svc("status", "--json").stdout):
            if s["name"] == name:
                return s
        raise Fail("no %s in svc status" % name)


def as_uid(uid, fn):
    """Run fn() in a child process with uid/gid `uid`; returns its exit code."""
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            code = fn()
        except BaseException as e:
            print("as uid %d: %r" % (uid, e), file=sys.stderr)
        finally:
            os._exit(code)
    _, st = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(st)


# --- tests ----------------------------------------------------------------

def test_lazy(h):
    h.service("Lazy", extra="Socket=lazy\nLazy=true")
    h.start()
    check(os.path.exists(h.portal("lazy")), "socket exists before anything started")
    check(h.records("start") == [], "a lazy service must not start before a connection")
    s = h.connect("lazy")
    g = h.hello(s)
    check(g["name"] == "Lazy", "answered by Lazy")
    r = h.records("start", "Lazy")
    check(len(r) == 1 and r[0]["fds"] == "1" and r[0]["names"] == "lazy", "one start with its socket: %r" % r)
    s2 = h.connect("lazy")
    check(h.hello(s2)["pid"] == g["pid"], "the same instance answers a second client")
    s.close()
    s2.close()
    h.stop()


def test_accept(h):
    h.service("Acc", extra="Socket=acc\nAcceptSocketConnections=true")
    h.start()
    conns = [h.connect("acc") for _ in range(4)]
    pids = [int(h.hello(c)["pid"]) for c in conns]
    check(len(set(pids)) == 4, "one instance per connection: %r" % pids)
    starts = h.records("start", "Acc")
    check(all(r["names"] == "connection" for r in starts), "each got its connection: %r" % starts)
    conns[0].sendall(b"ping\n")
    check(conns[0].recv(5) == b"ping\n", "instance serves its connection")
    for c in conns:
        c.close()
    for p in pids:
        wait_for(lambda p=p: not pid_alive(p), "instance %d to exit and be reaped" % p)
    check(len(h.records("exit", "Acc")) == 4, "every instance exits on disconnect")
    h.stop()


def test_dependencies(h):
    h.service("A", args="--notify --notify-delay 200", extra="Readiness=notify")
    h.service("B", args="--notify", extra="Requires=A\nReadiness=notify")
    h.service("C", extra="After=B")
    h.service("D", extra="Requires=E")  # E is pulled in though not in this mode
    h.service("E", extra="SystemModes=other")
    h.service("F", extra="SystemModes=other")
    h.start()
    wait_for(lambda: h.records("start", "C") and h.records("start", "E"), "C and E started")
    order = [(r["event"], r["name"]) for r in h.records() if r["name"] in "ABC"]
    check(order.index(("ready", "A")) < order.index(("start", "B")), "B after A is ready: %r" % order)
    check(order.index(("ready", "B")) < order.index(("start", "C")), "C after B is ready: %r" % order)
    check(h.records("start", "E"), "a Requires pulls E in")
    check(not h.records("start", "F"), "F is not of this mode")
    h.stop()


def test_respawn(h):
    h.service("Crash", args="--exit 3",
              extra="KeepAlive=true\nRestartSec=0.02\nStartLimitBurst=4\nStartLimitIntervalSec=60")
    h.service("LazyCrash", args="--crash-on-connect",
              extra="Socket=lazycrash\nLazy=true\nRestartSec=0.02\nStartLimitBurst=2\nStartLimitIntervalSec=60")
    h.service("Victim", extra="Socket=victim\nKeepAlive=true\nRestartSec=0.02")
    # Fails before it is ready (Readiness=notify, never notifies): backs off.
    h.service("Backoff", args="--exit 3", extra="Readiness=notify\nKeepAlive=true\nRestartSec=0.1\nRestartMaxDelaySec=5\n"
              "StartLimitBurst=4\nStartLimitIntervalSec=60")
    h.start()
    wait_for(lambda: "Crash: failed: start limit hit" in h.manager_log(), "Crash to hit its start limit")
    n = len(h.records("start", "Crash"))
    check(n == 4, "exactly StartLimitBurst starts, got %d" % n)
    # A killed service comes back, and clients reach the new one by the same path.
    g = h.hello(h.connect("victim"))
    os.kill(int(g["pid"]), signal.SIGKILL)
    wait_for(lambda: len(h.records("start", "Victim")) == 2, "Victim respawned")
    g2 = h.hello(h.connect("victim"))
    check(g2["pid"] != g["pid"], "a new instance answers")
    check(len(h.records("start", "Crash")) == 4, "no busy loop once failed")
    # A lazy service that keeps crashing: each client sees a clean EOF, and
    # once it has failed, new clients are refused instead of left waiting.
    for _ in range(2):
        c = h.connect("lazycrash")
        check(c.recv(100) == b"", "a crashed instance's client gets EOF")
    wait_for(lambda: not os.path.exists(h.portal("lazycrash")), "failed lazy service's socket removed")
    try:
        h.connect("lazycrash")
        raise Fail("connected to a failed service")
    except (FileNotFoundError, ConnectionRefusedError):
        pass
    # Guards against: respawning with no back-off (or one logged but not
    # applied). The delays are measured between the instances' own start
    # times: each is at least RestartSec, doubled per further failure.
    # Lower bounds only: a slow machine only makes the gaps longer.
    wait_for(lambda: "Backoff: failed: start limit hit" in h.manager_log(), "Backoff to hit its start limit")
    t = [float(r["mono"]) for r in h.records("start", "Backoff")]
    check(len(t) == 4, "Backoff: StartLimitBurst starts, got %d" % len(t))
    gaps = [b - a for a, b in zip(t, t[1:])]
    for k, g in enumerate(gaps):
        check(g >= 0.1 * 2 ** k, "respawn %d waited %.3f s, less than RestartSec 0.1 s doubled %d times: %r"
              % (k + 1, g, k, gaps))
    if SVC:
        check(h.status("Crash")["state"] == "failed", "svc shows Crash failed")
        check(h.status("Victim")["restarts"] == 1, "one restart counted")
        h.svc("start", "Crash")
        wait_for(lambda: len(h.records("start", "Crash")) > 4, "svc start clears failed")
    h.stop()


RESPAWN_RE = None


def respawn_decisions(h, name):
    """The manager's own record of each respawn: (delay s, back-off step)."""
    import re
    global RESPAWN_RE
    RESPAWN_RE = RESPAWN_RE or re.compile(
        r"SystemServer\[\d+\]: info: (\S+): respawning in ([0-9.]+) s \(back-off step (\d+)")
    return [(float(m.group(2)), int(m.group(3)))
            for m in RESPAWN_RE.finditer(h.manager_log()) if m.group(1) == name]


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def test_kill_storm(h):
    """A ready service killed again and again under client load comes back
    after RestartSec each time (the back-off is for failures before
    readiness); failures before readiness back off by doubling, but only
    within StartLimitIntervalSec of each other. Asserted on the manager's
    logged decisions; the client-observed restart times are printed."""
    import threading
    kills = 20
    h.service("Storm", args="--notify", extra="Socket=storm\nKeepAlive=true\nReadiness=notify\n"
              "StartLimitBurst=1000\nStartLimitIntervalSec=60")
    h.service("Early", args="--exit 3", extra="Readiness=notify\nKeepAlive=true\nRestartSec=0.02\n"
              "RestartMaxDelaySec=0.1\nStartLimitBurst=6\nStartLimitIntervalSec=60")
    h.start()
    # Each start fails after TimeoutStartSec (0.4 s), outside the 0.2 s
    # window. Added after boot, which would wait for it to be ready.
    h.service("Calm", extra="Readiness=notify\nKeepAlive=true\nTimeoutStartSec=0.4\n"
              "TimeoutStopSec=1\nRestartSec=0.02\nStartLimitIntervalSec=0.2\nStartLimitBurst=3")
    h.svc("reload")
    stop = threading.Event()
    served = [0, 0]  # hellos, errors

    def load():
        while not stop.is_set():
            try:
                s = h.connect("storm")
                h.hello(s)
                s.close()
                served[0] += 1
            except (OSError, Fail):
                served[1] += 1
    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    observed = []
    try:
        for k in range(kills):
            pid = wait_for(lambda: (lambda st: st["state"] == "running" and st["pid"])(h.status("Storm")),
                           "Storm ready")
            t0 = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            storm = wait_for(lambda: respawn_decisions(h, "Storm")[k:], "the respawn decision")
            check(storm == [(0.1, 0)],
                  "a ready service's first restart waits RestartSec (0.1 s), no back-off: %r" % storm)
            while True:  # until a client is served by the next instance
                try:
                    g = h.hello(h.connect("storm"))
                    if int(g["pid"]) != pid:
                        break
                except (OSError, Fail):
                    pass
                check(time.monotonic() - t0 < TIMEOUT, "Storm never came back")
            observed.append(time.monotonic() - t0)
    finally:
        stop.set()
        for t in threads:
            t.join()
    ms = [x * 1000 for x in observed]
    print("kill storm: %d kills, restart (kill -> served by the new instance) p50 %.0f ms, "
          "p90 %.0f ms, max %.0f ms; %d clients served, %d connections cut"
          % (kills, percentile(ms, 50), percentile(ms, 90), max(ms), served[0], served[1]))
    storm = respawn_decisions(h, "Storm")
    check(len(storm) == kills, "one respawn per kill: %r" % storm)
    wait_for(lambda: "Early: failed: start limit hit" in h.manager_log(), "Early to hit its start limit")
    early = respawn_decisions(h, "Early")
    check(early == [(0.02, 0), (0.04, 1), (0.08, 2), (0.1, 3), (0.1, 4)],
          "failures before readiness double the delay up to RestartMaxDelaySec: %r" % early)
    wait_for(lambda: len(respawn_decisions(h, "Calm")) >= 3, "Calm to fail three times")
    calm = respawn_decisions(h, "Calm")
    check(all(d == (0.02, 0) for d in calm), "failures further apart than the window: no back-off: %r" % calm)
    check(h.status("Calm")["state"] != "failed", "nor a start limit")
    h.stop()


def test_watchdog(h):
    h.service("Dog", args="--watchdog-pings 3", extra="WatchdogSec=0.3\nTimeoutStopSec=2")
    h.start()
    wait_for(lambda: len(h.records("start", "Dog")) >= 2, "Dog restarted after missing its watchdog")
    check("watchdog timeout" in h.manager_log(), "the reason is logged")
    h.stop()


def test_listen_fds(h):
    h.service("Two", extra="Socket=one, two\nLazy=true")
    h.service("Eager", extra="Socket=eager")
    h.start()
    r = wait_for(lambda: h.records("start", "Eager"), "Eager started")
    check(len(r) == 1 and r[0]["fds"] == "1" and r[0]["names"] == "eager",
          "eager service started with its socket via sd_listen_fds: %r" % r)
    check(h.hello(h.connect("eager"))["name"] == "Eager", "sd_listen_fds socket serves")
    g = h.hello(h.connect("two"))
    r = h.records("start", "Two")
    check(len(r) == 1 and r[0]["fds"] == "2" and r[0]["names"] == "one:two", "two fds, named: %r" % r)
    check(h.hello(h.connect("one"))["pid"] == g["pid"], "both sockets reach the same daemon")
    h.stop()


def test_privdrop(h):
    if os.geteuid() != 0:
        print("needs root")
        return SKIP
    h.service("Priv", extra="Socket=priv\nUser=nobody\nGroup=nogroup\nPriority=5\nSocketPermissions=0600")
    h.service("Private", extra="Socket=private\nSocketPermissions=0600")
    h.start()
    r = wait_for(lambda: h.records("start", "Priv"), "Priv started")
    check(len(r) == 1 and r[0]["uid"] == "65534" and r[0]["nice"] == "5", "runs as nobody, nice 5: %r" % r)
    check(r[0]["gid"] == "65534" and r[0]["groups"] == "0", "group nogroup, no supplementary groups: %r" % r)

    def try_connect(name):
        def fn():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(h.portal(name))
                return 0
            except PermissionError:
                return 13
        return fn
    check(as_uid(65534, try_connect("priv")) == 0, "nobody may use the socket it owns")
    check(as_uid(65534, try_connect("private")) == 13, "a 0600 root socket refuses another uid")
    if SVC:
        # Anyone may read the system manager's status; only root may change it.
        def svc_as_nobody(*args):
            def fn():
                p = subprocess.run([SVC, "--socket", h.portal("SystemServer")] + list(args),
                                   capture_output=True, text=True, timeout=TIMEOUT)
                return p.returncode
            return fn
        check(as_uid(65534, svc_as_nobody("status")) == 0, "nobody reads status")
        check(as_uid(65534, svc_as_nobody("stop", "Priv")) == 1, "nobody may not stop a service")
        check(not h.records("stop", "Priv"), "Priv still runs")
    h.stop()


def test_ambient_capabilities(h):
    """AmbientCapabilities=: a service dropped to User=nobody keeps exactly
    the capabilities named, across the uid change and its exec, with a
    Pledge= sandbox too (the probe is grep reading its own
    /proc/self/status: CapEff of the started process); without the key it
    has none; an unknown name is a file:line error."""
    if os.geteuid() != 0:
        print("needs root")
        return SKIP
    def out(name):
        return os.path.join(h.tmp, name + ".status")
    for name, extra in (("Caps", ""), ("CapsSandboxed", "Pledge=stdio rpath\n"), ("NoCaps", None)):
        caps = "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW\n" if extra is not None else ""
        h.define(name + ".ini", "[%s]\nExecutable=/bin/grep\nArguments=^Cap /proc/self/status\nUser=nobody\n"
                 "%sStdIO=%s\n%s" % (name, caps, out(name), extra or ""))
    h.define("badcaps.ini", "[BadCaps]\nExecutable=/bin/true\nAmbientCapabilities=CAP_NET_ADMIN CAP_FLY\n")
    h.start()

    def status(name):
        def read():
            try:
                with open(out(name)) as f:
                    st = dict(ln.split(":\t", 1) for ln in f.read().splitlines() if ":\t" in ln)
            except OSError:
                return None
            return st if "CapAmb" in st else None
        return wait_for(read, name + " wrote its status")
    want = "%016x" % (1 << 12 | 1 << 13)  # CAP_NET_ADMIN, CAP_NET_RAW
    for name in ("Caps", "CapsSandboxed"):
        st = status(name)
        for field in ("CapEff", "CapPrm", "CapAmb"):
            check(st[field].strip() == want, "%s: %s %r, want %s" % (name, field, st[field], want))
    st = status("NoCaps")
    check(st["CapEff"].strip() == "0" * 16 and st["CapAmb"].strip() == "0" * 16, "NoCaps: %r" % st)
    log = h.manager_log()
    check("badcaps.ini:3: [BadCaps] AmbientCapabilities=CAP_NET_ADMIN CAP_FLY: unknown capability \"CAP_FLY\"" in log,
          "bad name reported with file:line\n" + log)
    h.stop()


def test_per_user(h):
    if os.geteuid() != 0:
        print("needs root")
        return SKIP
    h.service("PU", extra="Socket=peruser\nPerUser=true")
    h.start()
    out = os.path.join(h.tmp, "pu")
    os.mkdir(out, 0o777)
    os.chmod(out, 0o777)

    def hello_as(tag):
        def fn():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(TIMEOUT)
            s.connect(h.portal("peruser"))
            g = Harness.hello(s)
            with open(os.path.join(out, tag), "w") as f:
                f.write("%s %s" % (g["pid"], g["uid"]))
            return 0
        return fn

    def read(tag):
        with open(os.path.join(out, tag)) as f:
            return f.read().split()
    check(as_uid(65534, hello_as("a1")) == 0, "uid 65534 connects")
    check(as_uid(65534, hello_as("a2")) == 0, "uid 65534 connects again")
    check(as_uid(65533, hello_as("b1")) == 0, "uid 65533 connects")
    a1, a2, b1 = read("a1"), read("a2"), read("b1")
    check(a1[1] == "65534" and b1[1] == "65533", "each instance runs as its user: %r %r" % (a1, b1))
    check(a1[0] == a2[0], "a user's connections reach its one instance")
    check(a1[0] != b1[0], "another user never reaches it")
    h.stop()


def test_bad_definitions(h):
    h.service("Good", extra="Socket=good\nLazy=true")
    h.define("bad.ini", "[Bad]\nExecutable=ss-testd\nNoSuchKey=1\n")
    h.define("badval.ini", "[BadVal]\nExecutable=ss-testd\nLazy=maybe\nSocket=bv\n")
    h.define("cycle.ini", "[X]\nExecutable=ss-testd\nRequires=Y\n\n[Y]\nExecutable=ss-testd\nAfter=X\n")
    h.define("missing.ini", "[M]\nExecutable=ss-testd\nRequires=Nope\n")
    h.define("noexe.ini", "[N]\nExecutable=no-such-program-anywhere\n")
    h.define("syntax.ini", "[S]\nExecutable=ss-testd\nthis line is not a key\n")
    h.define("dup.ini", "[Dup]\nExecutable=ss-testd\nSocket=good\n")
    h.start()
    log = h.manager_log()
    for want in ("dup.ini:1: [Dup] Socket", "already [Good]'s","bad.ini:3:", "badval.ini:3:", "cycle.ini:3:", "dependency cycle", "missing.ini:3:",
                 "Nope: no such service", "noexe.ini:2:", "syntax.ini:3:"):
        check(want in log, "manager reports %r\n%s" % (want, log))
    check(h.hello(h.connect("good"))["name"] == "Good", "the good service still works")
    check(h.proc.poll() is None, "the manager keeps running")
    started = {r["name"] for r in h.records("start")}
    check(started == {"Good"}, "no bad service started: %r" % started)
    # A second manager on the same runtime dir must not steal the sockets.
    p = subprocess.run([SS, "--user", "--runtime-dir", h.rt, "--config", h.etc], capture_output=True,
                       text=True, timeout=TIMEOUT)
    check(p.returncode == 1 and "already serves" in p.stderr, "second manager refused: %r" % p.stderr)
    check(h.hello(h.connect("good"))["name"] == "Good", "the first manager still serves")
    h.stop()


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_net_sockets(h):
    """ListenStream=/ListenDatagram=: the manager binds, the service gets the
    fds by sd_listen_fds (named tcp-PORT, udp-PORT), and the listening socket
    outlives a SIGKILL of the service: a client that connects while it is
    down is served by the next instance."""
    tcp, udp = free_port(), free_port(socket.SOCK_DGRAM)
    h.service("Net", extra="ListenStream=127.0.0.1:%d\nListenDatagram=127.0.0.1:%d\n"
              "Backlog=8\nReusePort=yes\nKeepAlive=true\nRestartSec=0.3" % (tcp, udp))
    h.start()
    r = wait_for(lambda: h.records("start", "Net"), "Net started")
    check(r[0]["fds"] == "2" and r[0]["names"] == "tcp-%d:udp-%d" % (tcp, udp),
          "two fds named tcp-PORT:udp-PORT: %r" % r)

    def tcp_connect():
        s = socket.create_connection(("127.0.0.1", tcp), timeout=TIMEOUT)
        s.settimeout(TIMEOUT)
        return s
    g = h.hello(tcp_connect())
    check(g["name"] == "Net", "the service accepts on the manager's TCP socket")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        try:
            u.bind(("127.0.0.1", udp))
            raise Fail("the UDP port was not bound by the manager")
        except OSError:
            pass
    os.kill(int(g["pid"]), signal.SIGKILL)
    wait_for(lambda: not pid_alive(int(g["pid"])), "Net killed and reaped")
    c = tcp_connect()  # during RestartSec: waits in the kept backlog
    check(len(h.records("start", "Net")) == 1, "connected before the restart")
    g2 = h.hello(c)
    check(g2["pid"] != g["pid"], "the next instance serves the waiting client")
    if SVC:
        check(h.status("Net")["restarts"] == 1, "svc status counts the restart")
    h.stop()
    try:
        socket.create_connection(("127.0.0.1", tcp), timeout=5).close()
        raise Fail("the port is still open after the manager stopped")
    except ConnectionRefusedError:
        pass


def test_net_readiness(h):
    """Readiness=socket on a ListenStream= socket: the manager's probe
    connects over TCP (a wildcard address through loopback), and a
    dependent starts only once the service accepted it."""
    port = free_port()
    h.service("SlowNet", args="--listen-delay 500",
              extra="ListenStream=0.0.0.0:%d\nReadiness=socket" % port)
    h.service("Dependent", extra="Requires=SlowNet")
    inetd = free_port()
    h.service("Inetd", extra="ListenStream=127.0.0.1:%d\nAcceptSocketConnections=true" % inetd)
    h.start()
    wait_for(lambda: h.records("start", "Dependent"), "Dependent started")
    recs = [(r["event"], r["name"]) for r in h.records()]
    check(("accepted", "SlowNet") in recs and
          recs.index(("accepted", "SlowNet")) < recs.index(("start", "Dependent")),
          "Dependent started only after SlowNet accepted the TCP probe: %r" % recs)
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.settimeout(TIMEOUT)
    check(h.hello(s)["name"] == "SlowNet", "SlowNet serves TCP clients")
    s.close()
    # AcceptSocketConnections on TCP (inetd style): an instance per connection.
    pids = set()
    for _ in range(2):
        c = wait_for(lambda: port_connect(inetd), "Inetd's port")
        pids.add(h.hello(c)["pid"])
        c.close()
    check(len(pids) == 2, "one instance per TCP connection: %r" % pids)
    h.stop()


def port_connect(port):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        s.settimeout(TIMEOUT)
        return s
    except ConnectionRefusedError:
        return None


def test_net_bad_definitions(h):
    h.service("Good", extra="ListenStream=127.0.0.1:%d" % free_port())
    h.define("port.ini", "[Port]\nExecutable=ss-testd\nListenStream=127.0.0.1:70000\n")
    h.define("zero.ini", "[Zero]\nExecutable=ss-testd\nListenDatagram=0\n")
    h.define("addr.ini", "[Addr]\nExecutable=ss-testd\n\nListenStream=127.0.0.256:80\n")
    h.define("v6.ini", "[V6]\nExecutable=ss-testd\nListenStream=::1:80\n")
    h.define("twice.ini", "[Twice]\nExecutable=ss-testd\nListenStream=8080\nListenStream=[::]:8080\n")
    h.define("peruser.ini", "[PU]\nExecutable=ss-testd\nListenStream=8081\nPerUser=true\n")
    h.define("acceptudp.ini", "[AU]\nExecutable=ss-testd\nListenDatagram=8082\n"
             "AcceptSocketConnections=true\n")
    h.define("backlog.ini", "[BL]\nExecutable=ss-testd\nListenStream=8083\nBacklog=0\n")
    h.define("other.ini", "[Other]\nExecutable=ss-testd\nListenStream=8084\n\n"
             "[Same]\nExecutable=ss-testd\nListenStream=[::]:8084\n")
    h.start()
    log = h.manager_log()
    for want in ("port.ini:3: [Port] ListenStream=127.0.0.1:70000: port out of range",
                 "zero.ini:3: [Zero] ListenDatagram=0: port out of range",
                 "addr.ini:4: [Addr] ListenStream=127.0.0.256:80: bad address",
                 "v6.ini:3: [V6] ListenStream=::1:80: bad address",
                 "twice.ini:4: [Twice] ListenStream=[::]:8080: tcp:[::]:8080 is listed twice",
                 "peruser.ini:1: [PU] PerUser needs a Unix Socket",
                 "acceptudp.ini:1: [AU] AcceptSocketConnections cannot accept",
                 "backlog.ini:4: [BL] bad value for Backlog",
                 "other.ini:5: [Same] Socket tcp:[::]:8084 is already [Other]'s"):
        check(want in log, "manager reports %r\n%s" % (want, log))
    wait_for(lambda: h.records("start", "Good"), "Good started")
    for name in ("Port", "Zero", "Addr", "V6", "Twice", "PU", "AU", "BL", "Same"):
        check("%s: started" % name not in h.manager_log(), name + " never starts")
    h.stop()


def test_sigterm_order(h):
    h.service("A", args="--stop-delay 50")
    h.service("B", args="--stop-delay 50", extra="After=A")
    h.service("C", args="--stop-delay 50", extra="Requires=B\nSocket=c")
    h.service("Stubborn", args="--hold", extra="TimeoutStopSec=0.3")
    h.start()
    wait_for(lambda: len(h.records("start")) == 4, "four started")
    pids = [int(r["pid"]) for r in h.records("start")]
    check(len(pids) == 4, "four started")
    h.stop()
    stops = [r["name"] for r in h.records("stop") if r["name"] in "ABC"]
    check(stops == ["C", "B", "A"], "reverse dependency order: %r" % stops)
    check(not os.path.exists(h.portal("c")), "sockets removed")
    for p in pids:
        check(not pid_alive(p), "pid %d gone (Stubborn needed SIGKILL)" % p)
    check("SIGKILL" in h.manager_log(), "the SIGKILL is logged")


def test_reload(h):
    h.service("Keep")
    h.service("Change", args="--print v1")
    h.service("Remove")
    h.start()
    wait_for(lambda: len(h.records("start")) == 3, "three started")
    keep = h.records("start", "Keep")[0]["pid"]
    os.unlink(os.path.join(h.etc, "Remove.ini"))
    h.service("Change", args="--print v2")
    h.service("Add")
    h.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: h.records("start", "Add"), "Add started")
    wait_for(lambda: len(h.records("start", "Change")) == 2, "Change restarted")
    wait_for(lambda: h.records("stop", "Remove"), "Remove stopped")
    check(len(h.records("start", "Keep")) == 1 and not h.records("stop", "Keep"), "Keep left alone")
    check(h.records("start", "Keep")[0]["pid"] == keep, "same Keep process")
    h.stop()


def test_logs(h):
    h.service("Talk", args="--print hello-from-talk")
    h.start()
    path = os.path.join(h.rt, "log", "Talk.log")

    def has():
        try:
            with open(path) as f:
                t = f.read()
        except FileNotFoundError:
            return False
        return "hello-from-talk (stderr)" in t and "hello-from-talk\n" in t
    wait_for(has, "both streams in Talk.log")
    with open(path) as f:
        first = f.readline()
    check(first[:4].isdigit() and first[10] == "T", "lines are timestamped: %r" % first)
    if SVC:
        out = h.svc("logs", "Talk", "-n", "5").stdout
        check("hello-from-talk" in out, "svc logs shows it: %r" % out)
    h.stop()


def test_exec_env(h):
    h.define("Env.ini", "[Env]\nExecutable=ss-testd\n"
             "Arguments=--record %s --record-env FOO --arg 'two words'\n"
             "Environment=FOO=\"bar baz\" OTHER=1\nWorkingDirectory=%s\n" % (h.rec, h.xdg))
    out = os.path.join(h.tmp, "out.txt")
    h.define("File.ini", "[File]\nExecutable=ss-testd\nArguments=--print to-a-file\nStdIO=%s\n" % out)
    h.start()
    r = wait_for(lambda: h.records("env", "Env"), "Env recorded")[0]
    check(r["value"] == "bar_baz", "Environment with quotes: %r" % r)
    check(r["cwd"] == h.xdg, "WorkingDirectory: %r" % r)
    check(r["arg"] == "9:spaced", "Arguments with quotes: %r" % r)

    def file_has():
        try:
            with open(out) as f:
                return "to-a-file (stderr)" in f.read()
        except FileNotFoundError:
            return False
    wait_for(file_has, "StdIO=FILE receives stdout and stderr")
    h.stop()


def test_log_follow_rotate(h):
    if not SVC:
        print("svc not built")
        return SKIP
    h.service("Quiet", args="--notify --print marker-line", extra="Readiness=notify\nSocket=quiet")
    h.start()
    wait_for(lambda: "marker-line" in h.svc("logs", "Quiet").stdout, "first output captured")
    env = dict(os.environ, XDG_RUNTIME_DIR=h.xdg)
    follower = subprocess.Popen([SVC, "--socket", h.portal("SystemServer"), "logs", "Quiet", "-f", "-n", "1"],
                                env=env, stdout=subprocess.PIPE, text=True)
    try:
        # The reply that carries the last line comes after the follower is
        # registered: once it is printed, every later line must follow.
        def read_until(word):
            end = time.monotonic() + TIMEOUT
            while time.monotonic() < end:
                line = follower.stdout.readline()
                check(line != "", "follower ended early")
                if word in line:
                    return
            raise Fail("follower never showed " + word)
        read_until("marker-line")
        h.define("Quiet.ini", "[Quiet]\nExecutable=ss-testd\nArguments=--record %s --notify --print followed-line\n"
                 "Readiness=notify\nSocket=quiet\n" % h.rec)
        h.svc("reload")
        read_until("followed-line")
    finally:
        follower.kill()
        follower.wait()
    # Rotation: more than 1 MiB of output moves the file to .log.1.
    h.service("Loud", args="--spam 12000")
    h.svc("reload")
    wait_for(lambda: os.path.exists(os.path.join(h.rt, "log", "Loud.log.1")), "Loud.log rotated")
    check(os.path.getsize(os.path.join(h.rt, "log", "Loud.log.1")) <= (1 << 20) + 8192, "bounded file")
    out = h.svc("logs", "Loud", "-n", "3").stdout.splitlines()
    check(len(out) == 3 and out[-1].endswith("...."), "the ring keeps the tail: %r" % out[-1:])
    h.stop()


def test_multi_instance(h):
    if not SVC:
        print("svc not built")
        return SKIP
    h.service("Multi", extra="MultiInstance=true")
    h.start()
    wait_for(lambda: h.records("start", "Multi"), "first instance")
    h.svc("start", "Multi")
    wait_for(lambda: len(h.records("start", "Multi")) == 2, "second instance")
    check(h.status("Multi")["instances"] == 2, "two instances counted")
    first = int(h.records("start", "Multi")[0]["pid"])
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: h.status("Multi")["instances"] == 1, "one instance left")
    check(h.status("Multi")["state"] == "running", "one dying instance fails nothing")
    h.stop()
    check(len(h.records("stop", "Multi")) == 1, "the other one stopped in order")


def test_start_timeout(h):
    h.service("Mute", extra="Readiness=notify\nTimeoutStartSec=0.3\nTimeoutStopSec=1")
    h.service("Waiter", extra="Requires=Mute")
    h.start()  # boot ends (READY=1) although Mute never becomes ready
    check("did not report READY=1" in h.manager_log(), "the reason is logged")
    check(not h.records("start", "Waiter"), "what requires it does not start")
    if SVC:
        st = h.status("Mute")
        check(st["state"] == "failed" and "READY=1" in st["reason"], "svc shows why: %r" % st)
        check(h.status("Waiter")["state"] == "failed", "Waiter failed with its dependency")
    h.stop()


def test_svc(h):
    if not SVC:
        print("svc not built")
        return SKIP
    h.service("Lazy", extra="Socket=lazy\nLazy=true")
    h.service("Run")
    h.service("Off", extra="SystemModes=other")
    h.start()
    wait_for(lambda: h.records("start", "Run"), "Run started")
    st = {s["name"]: s for s in json.loads(h.svc("status", "--json").stdout)}
    check(st["Lazy"]["state"] == "listening" and st["Lazy"]["pid"] is None, "lazy listening: %r" % st["Lazy"])
    check(st["Run"]["state"] == "running" and isinstance(st["Run"]["pid"], int), "Run running")
    check(st["Off"]["state"] == "stopped", "Off stopped")
    for k in ("name", "state", "pid", "restarts", "instances"):
        check(k in st["Run"], "status has %s" % k)
    table = h.svc("status").stdout
    check("Lazy" in table and "listening" in table, "human table")
    h.svc("stop", "Run")
    wait_for(lambda: h.records("stop", "Run"), "Run stopped")
    wait_for(lambda: h.status("Run")["state"] == "stopped", "state stopped")
    h.svc("start", "Off")
    wait_for(lambda: h.records("start", "Off"), "Off started")
    pid = h.status("Off")["pid"]
    h.svc("restart", "Off")
    wait_for(lambda: len(h.records("start", "Off")) == 2, "Off restarted")
    check(h.status("Off")["pid"] != pid, "new pid after restart")
    p = h.svc("start", "NoSuch", check_rc=False)
    check(p.returncode == 1 and "NoSuch" in p.stderr, "unknown service: clear error")
    p = h.svc("frobnicate", check_rc=False)
    check(p.returncode == 2, "bad command: usage, exit 2")
    # A peer speaking garbage loses its own connection, nothing else.
    bad = h.connect("SystemServer")
    bad.sendall(b"\xff" * 64)
    check(bad.recv(100) == b"", "garbage ends that connection")
    check(h.status("Lazy")["state"] == "listening", "the manager still answers")
    h.service("New")
    h.svc("reload")
    wait_for(lambda: h.records("start", "New"), "reload started New")
    h.svc("shutdown")
    check(h.proc.wait(TIMEOUT) == 0, "svc shutdown ends the manager")


def test_sandbox(h):
    """Pledge/Unveil from the definition hold from the first instruction."""
    build = os.path.dirname(os.path.dirname(os.path.dirname(TESTD)))
    libs = "/usr:rx, /lib:rx, /lib64:rx, /etc/ld.so.cache:r, %s:rx" % build
    base = "stdio rpath wpath cpath unix"
    env = ""
    with open(TESTD, "rb") as f:
        if b"__asan_init" in f.read():
            # The fixture's sanitizer runtime sets RLIMIT_CORE at start and
            # ptraces itself for leaks at exit: allow the first, skip the second.
            base += " proc"
            env = "\nEnvironment=ASAN_OPTIONS=detect_leaks=0"
    h.service("Walled", args="--try-open /etc/hostname",
              extra="Pledge=%s\nUnveil=%s, %s:rwc%s" % (base, libs, h.tmp, env))
    h.service("NoNet", args="--try-inet", extra="Pledge=%s%s" % (base, env))
    h.start()
    opens = wait_for(lambda: h.records("open", "Walled"), "Walled tried /etc/hostname")
    check(int(opens[0]["result"]) == 13, "outside its Unveil: EACCES, got %r" % opens)
    check(h.records("start", "Walled"), "inside its Unveil (the record file): allowed")
    wait_for(lambda: "sandbox violation" in h.manager_log(), "NoNet killed by SIGSYS")
    check(h.records("start", "NoNet") and not h.records("inet", "NoNet"), "the socket call never returned")
    # Supervised: the forbidden call is named in the manager's log, the
    # service's own log and svc status.
    named = "pledge: system call socket"
    check(named in h.manager_log(), "manager log names the call:\n" + h.manager_log())
    if SVC:
        check(named in h.svc("logs", "NoNet").stdout, "svc logs names the call")
        st = wait_for(lambda: h.status("NoNet")["state"] == "failed" and h.status("NoNet"), "NoNet failed")
        check(named in st["reason"], "svc status reason names the call: %r" % st)
    h.stop()


def test_prepared_sandbox(h):
    """Per-connection instances share one sandbox compiled for their
    definition: each holds it (Unveil= and Pledge= as a cold start would),
    it is prepared once, and a reload that changes the definition prepares
    the new one, which the next instance holds."""
    build = os.path.dirname(os.path.dirname(os.path.dirname(TESTD)))
    libs = "/usr:rx, /lib:rx, /lib64:rx, /etc/ld.so.cache:r, %s:rx" % build
    base = "stdio rpath wpath cpath unix"
    env = ""
    if under_asan():
        base += " proc"
        env = "\nEnvironment=ASAN_OPTIONS=detect_leaks=0"
    target = os.path.join(h.tmp, "outside", "secret")
    os.makedirs(os.path.dirname(target))
    with open(target, "w") as f:
        f.write("x")
    unveil = "Unveil=%s, %s:rw" % (libs, h.rec)

    def define(extra_unveil):
        h.service("Prep", args="--try-open %s" % target,
                  extra="Socket=prep\nAcceptSocketConnections=true\nPledge=%s\n%s%s%s" % (
                      base, unveil, extra_unveil, env))
    define("")
    h.start()
    conns = [h.connect("prep") for _ in range(3)]
    pids = [int(h.hello(c)["pid"]) for c in conns]
    check(len(set(pids)) == 3, "one instance per connection: %r" % pids)
    opens = wait_for(lambda: len(h.records("open", "Prep")) == 3 and h.records("open", "Prep"), "three tried")
    check(all(int(o["result"]) == 13 for o in opens), "outside Unveil=, every instance: EACCES, got %r" % opens)
    for pid in pids:
        with open("/proc/%d/status" % pid) as f:
            st = f.read()
        check(re.search(r"Seccomp:\s+2", st) and re.search(r"NoNewPrivs:\s+1", st), "pledged: %d" % pid)
    for c in conns:
        c.close()
    log = h.manager_log()
    if not under_asan():  # sanitizer builds prepare nothing with Unveil= (docs/sandbox.md)
        check(log.count("Prep: sandbox prepared") == 1, "prepared once for three instances:\n" + log)
    # A reload that changes the definition: the next instance holds the new one.
    define(", %s:r" % target)
    h.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload" in h.manager_log().lower(), "reloaded")

    def opened():
        try:  # the restart replaces the socket: a connection may meet the old one
            c = h.connect("prep")
            h.hello(c)
            c.close()
        except (OSError, Fail):
            return False
        recs = h.records("open", "Prep")
        return len(recs) > 3 and int(recs[-1]["result"]) == 0
    wait_for(opened, "an instance of the new definition reads the newly unveiled file")
    if not under_asan():
        check(h.manager_log().count("Prep: sandbox prepared") == 2, "prepared again after the reload")
    h.stop()


def test_spares(h):
    """SpareInstances=: N instances started and waiting before anyone
    connects; each connection goes to one of them (a process started before
    it), never two connections to one; each taken spare is replaced; the
    spares die with stop and with a reload that changes the definition; a
    spare that dies young stops the spares instead of looping."""
    h.service("Sp", extra="Socket=sp\nAcceptSocketConnections=true\nSpareInstances=2")
    h.start()
    started = wait_for(lambda: len(h.records("start", "Sp")) == 2 and h.records("start", "Sp"),
                       "two spares before any connection")
    spare_pids = {int(r["pid"]) for r in started}
    time.sleep(0.3)
    check(len(h.records("start", "Sp")) == 2, "exactly two: %r" % h.records("start", "Sp"))
    if SVC:
        check(h.status("Sp")["state"] != "running", "spares alone are not 'running': %r" % h.status("Sp"))
    served = []
    for k in range(4):
        c = h.connect("sp")
        pid = int(h.hello(c)["pid"])
        check(pid in spare_pids, "connection %d served by a spare started before it (%d in %r)" % (k, pid, spare_pids))
        check(pid not in served, "a spare never serves two clients: %d again" % pid)
        served.append(pid)
        c.sendall(b"ping\n")
        check(c.recv(5) == b"ping\n", "the spare serves its connection")
        c.close()
        wait_for(lambda pid=pid: not pid_alive(pid), "the spare %d leaves with its client" % pid)
        # replaced: a new spare starts after each take
        wait_for(lambda k=k: len(h.records("start", "Sp")) == 3 + k, "spare %d replaced" % k)
        spare_pids = {int(r["pid"]) for r in h.records("start", "Sp")}
    waiting = [p for p in spare_pids if pid_alive(p)]
    check(len(waiting) == 2, "two spares waiting again: %r" % waiting)
    # A reload that changes the definition: the old spares die, new ones wait.
    h.service("Sp", extra="Socket=sp\nAcceptSocketConnections=true\nSpareInstances=1")
    h.proc.send_signal(signal.SIGHUP)
    for p in waiting:
        wait_for(lambda p=p: not pid_alive(p), "old spare %d stopped by the reload" % p)
    new = wait_for(lambda: [int(r["pid"]) for r in h.records("start", "Sp") if pid_alive(int(r["pid"]))],
                   "a spare of the new definition")
    check(len(new) == 1, "SpareInstances=1 now: %r" % new)
    if SVC:
        h.svc("stop", "Sp")
        wait_for(lambda: not pid_alive(new[0]), "the spare dies with stop")
        time.sleep(0.3)
        check(not [r for r in h.records("start", "Sp") if pid_alive(int(r["pid"]))], "no spare after stop")
    h.stop()


def test_spares_die_young(h):
    """A spare that exits at once is not replaced in a loop."""
    h.service("Young", args="--exit 3", extra="Socket=young\nAcceptSocketConnections=true\nSpareInstances=2")
    h.start()
    wait_for(lambda: "no spares until the service starts again" in h.manager_log(), "spares stopped")
    time.sleep(0.5)
    n = len(h.records("start", "Young"))
    check(n <= 2, "at most the first two spares started, got %d" % n)
    h.stop()


def under_asan():
    with open(TESTD, "rb") as f:
        return b"__asan_init" in f.read()


def test_limits(h):
    """LimitAS= … LimitDATA= hold in the service from its first instruction;
    a limit the kernel refuses is a failed start naming the key."""
    extra = "LimitCPU=100:200\nLimitNOFILE=100:200\nLimitCORE=0:16K"
    if not under_asan():
        # ASan maps terabytes of shadow memory: it cannot start under these.
        extra += "\nLimitAS=8G:infinity\nLimitDATA=1G:2G"
    h.service("Limited", args="--record-limits", extra=extra)
    # Above fs.nr_open: refused even for root.
    h.service("TooMany", args="--record-limits", extra="LimitNOFILE=2000000000")
    h.service("Plain", args="--record-limits")
    import resource
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    soft = min(256, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))  # the manager inherits it
    h.start()
    rec = wait_for(lambda: h.records("limits", "Limited"), "Limited started")[0]
    check(rec["cpu"] == "100:200", "LimitCPU: %r" % rec)
    check(rec["nofile"] == "100:200", "LimitNOFILE: %r" % rec)
    check(rec["core"] == "0:16384", "LimitCORE: %r" % rec)
    if not under_asan():
        check(rec["as"] == "%d:-1" % (8 << 30), "LimitAS: %r" % rec)
        check(rec["data"] == "%d:%d" % (1 << 30, 2 << 30), "LimitDATA: %r" % rec)
    with open("/proc/%d/limits" % h.proc.pid) as f:
        mine = [ln.split()[3:5] for ln in f if ln.startswith("Max open files")][0]
    hard_s = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
    check(mine == [hard_s] * 2, "the manager raised its own open-file limit: %r" % mine)
    plain = wait_for(lambda: h.records("limits", "Plain"), "Plain started")[0]
    check(plain["nofile"] == "%d:%d" % (soft, -1 if hard == resource.RLIM_INFINITY else hard),
          "without LimitNOFILE: the open-file limit the manager was started with: %r" % plain)
    wait_for(lambda: h.status("TooMany")["state"] == "failed", "TooMany failed")
    check(not h.records("limits", "TooMany"), "TooMany never ran")
    check("cannot set LimitNOFILE" in h.manager_log(), "the failed key is named:\n" + h.manager_log())
    logs = h.svc("logs", "TooMany").stdout
    check("cannot set LimitNOFILE" in logs, "and in its log: %r" % logs)
    h.stop()


def test_nofile_instances(h):
    """Many per-connection instances under a LimitNOFILE= just above what one
    needs all start and serve: the child closes the manager's fds (a pidfd
    and a seccomp listener per instance) before the limit applies. Before,
    the sandbox failed with EMFILE once the manager's fds passed the limit
    (ImageDecoder: LimitNOFILE=1024, failures from ~486 instances). The
    test daemon needs about 7 fds; under LimitNOFILE=16 the old code failed
    from the first instance already (the manager's own fds pass 16), and
    32 instances, 2 fds each in the manager, make sure the fds that grow
    with the instances are closed too: a second, not 512 processes."""
    n = 32
    pledge = "stdio rpath wpath cpath unix"
    env = ""
    if under_asan():
        pledge += " proc"
        env = "\nEnvironment=ASAN_OPTIONS=detect_leaks=0"
    h.service("Many", extra="Socket=many\nAcceptSocketConnections=true\nLimitNOFILE=16\nPledge=%s%s"
              % (pledge, env))
    h.start()
    conns = [h.connect("many") for _ in range(n)]
    pids = set()
    for c in conns:
        pids.add(int(h.hello(c)["pid"]))
        c.sendall(b"ping\n")
        check(c.recv(5) == b"ping\n", "every instance serves its connection")
    check(len(pids) == n, "one instance per connection: %d of %d" % (len(pids), n))
    check("Too many open files" not in h.manager_log(), "no instance failed:\n" + h.manager_log())
    fds = len(os.listdir("/proc/%d/fd" % h.proc.pid))
    check(fds > 16 + n, "the manager held more fds (%d) than LimitNOFILE while they ran" % fds)
    print("%d instances under LimitNOFILE=16 while the manager held %d fds" % (n, fds))
    for c in conns:
        c.close()
    h.stop()


def test_memory_budget(h):
    """MemoryBudget= admits per-connection instances while their LimitAS
    adds up to it; further clients wait in the backlog (never refused) and
    are served as instances exit. Checked on what ran, not on timing."""
    if under_asan():
        print("SKIP: an ASan build cannot start under a finite LimitAS")
        return SKIP
    h.service("Budget", extra="Socket=budget\nAcceptSocketConnections=true\n"
              "LimitAS=1G\nMemoryBudget=3G")
    h.start()
    conns = [h.connect("budget") for _ in range(3)]
    first = [int(h.hello(c)["pid"]) for c in conns]
    waiting = [h.connect("budget") for _ in range(2)]  # queued: connect succeeds
    wait_for(lambda: "Budget: memory budget full (3 instances" in h.manager_log(),
             "the manager to stop accepting")
    check(len(h.records("start", "Budget")) == 3, "3 x 1G fill a 3G budget: %r" % h.records())
    check(h.status("Budget")["instances"] == 3, "no fourth instance")
    served = []
    for i, w in enumerate(waiting):
        conns[i].close()  # one instance exits: one waiting client is admitted
        wait_for(lambda p=first[i]: not pid_alive(p), "instance %d to exit" % first[i])
        g = h.hello(w)
        served.append(int(g["pid"]))
        w.sendall(b"ping\n")
        check(w.recv(5) == b"ping\n", "the admitted client is served")
        check(h.status("Budget")["instances"] <= 3, "still within the budget")
    check(len(set(served)) == 2 and not set(served) & set(first), "two new instances: %r" % served)
    check(len(h.records("start", "Budget")) == 5, "every client served, none refused")
    for c in conns + waiting:
        c.close()
    h.stop()


def test_instance_cap(h):
    """520 clients of an AcceptSocketConnections service are all served:
    512 instances (SS_UNIT_MAX_INSTANCES) run at once, the other clients
    wait in the backlog and are accepted as instances exit. Before, the
    manager closed the connections beyond the cap."""
    if under_asan():
        print("skipped under ASan: 512 sanitized processes need gigabytes")
        return SKIP
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        print("needs an open-file hard limit of 2048 (have %d)" % hard)
        return SKIP
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    cap, n = 512, 520
    h.service("Wide", extra="Socket=wide\nAcceptSocketConnections=true\nStdIO=null")
    h.start()
    conns = [h.connect("wide") for _ in range(n)]
    for c in conns[:cap]:
        h.hello(c)
    capped = "Wide: 512 instances, the most at once: connections wait"
    wait_for(lambda: capped in h.manager_log() or "refusing" in h.manager_log(),
             "the manager to stop accepting at the cap")
    check("refusing" not in h.manager_log(), "nobody refused:\n" + h.manager_log()[-2000:])
    check(h.status("Wide")["instances"] == cap, "no instance beyond the cap")
    for c in conns[:n - cap]:
        c.close()  # instances exit: the waiting clients are admitted
    for c in conns[cap:]:
        h.hello(c)
    check(len(h.records("start", "Wide")) == n, "%d clients, each served by an instance of its own" % n)
    for c in conns:
        c.close()
    h.stop()


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int([ln for ln in f if ln.startswith("VmRSS:")][0].split()[1])


def test_control_quota(h):
    """The control socket is open to every user (status), so a non-root uid
    gets small quotas there: `nobody` opening 16 connections and sending
    each an unfinished frame (3 MiB of a 4 MiB one: 48 MiB) has them ended
    once over its 8 MiB while the manager's RSS stays bounded, and root's
    svc status answers. Before the quotas the manager kept every byte."""
    if os.geteuid() != 0:
        print("SKIP: needs root to act as another uid")
        return SKIP
    import struct
    h.start()
    path = h.portal("SystemServer")
    rss0 = vm_rss_kib(h.proc.pid)
    conns, per = 16, 3 << 20
    magic = 2166136261
    for b in b"SystemServer":
        magic = ((magic ^ b) * 16777619) & 0xFFFFFFFF
    header = struct.pack("<IIHBBI", 4 << 20, magic, 1, 1, 0, 1)
    go_r, go_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            held, ended = [], 0
            chunk = b"\0" * (1 << 18)
            for _ in range(conns):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(10)
                try:
                    s.connect(path)
                    s.sendall(header)
                    for _ in range(per // len(chunk)):
                        s.sendall(chunk)
                except OSError:
                    ended += 1  # ended (or refused) by the manager: the point
                held.append(s)
            os.write(go_w, b"%d" % ended)
            os.read(done_r, 1)  # hold every connection until the parent measured
            code = 0
        except BaseException as e:
            print("as nobody: %r" % e, file=sys.stderr)
        finally:
            os._exit(code)
    try:
        ended = int(os.read(go_r, 16) or b"-1")
        wait_for(lambda: h.manager_log().count("uid=65534: over the per-uid") >= ended,
                 "the manager to end what it ended")
        rss1 = vm_rss_kib(h.proc.pid)
        p = h.svc("status", "--json")
        check(p.returncode == 0 and p.stdout.startswith("["), "root's svc status answers: %r" % p.stdout)
        print("nobody: %d connections x %d MiB of unfinished frames, %d ended; manager RSS %d -> %d KiB"
              % (conns, per >> 20, ended, rss0, rss1))
        check(ended > 0, "a non-root uid over its quota has connections ended")
        check(rss1 - rss0 < 32 << 10, "the manager's RSS stays bounded: %d -> %d KiB" % (rss0, rss1))
    finally:
        os.write(done_w, b"x")
        _, status = os.waitpid(pid, 0)
    check(os.waitstatus_to_exitcode(status) == 0, "the attacker ran")
    h.stop()


def ipc_header(endpoint, length):
    """A request frame header (docs/ipc-wire-format.md) claiming `length`
    payload bytes for `endpoint`."""
    import struct
    magic = 2166136261
    for b in endpoint.encode():
        magic = ((magic ^ b) * 16777619) & 0xFFFFFFFF
    return struct.pack("<IIHBBI", length, magic, 1, 1, 0, 1)


def test_ipc_quotas(h):
    """Ipc* keys in a definition reach the service (HAVEN_IPC_QUOTAS) and
    its runner applies them: EchoServer with IpcTotalBytes=1M ends a client
    that sends 2 MiB of an unfinished 4 MiB frame, with the reason in its
    log, while another client is served. Without the key (the default
    1 GiB total) the same client is kept."""
    build = os.path.dirname(os.path.dirname(os.path.dirname(TESTD)))
    echo = os.path.join(build, "services", "EchoServer", "EchoServer")
    client = os.path.join(build, "utilities", "echo-client", "echo-client")
    if not (os.path.exists(echo) and os.path.exists(client) and SVC):
        print("not built: EchoServer, echo-client or svc")
        return SKIP
    h.define("EchoServer.ini", "[EchoServer]\nExecutable=%s\nSocket=echo\nIpcTotalBytes=1M\n"
             "Pledge=stdio rpath recvfd sendfd accept\n" % echo)
    h.define("Free.ini", "[Free]\nExecutable=%s\nSocket=free\n"
             "Pledge=stdio rpath recvfd sendfd accept\n" % echo)
    h.start()

    def flood(portal):
        s = h.connect(portal)
        s.settimeout(10)
        try:
            s.sendall(ipc_header("EchoServer", 4 << 20))
            for _ in range(8):
                s.sendall(b"\0" * (1 << 18))
            s.settimeout(2)
            return s.recv(1) == b""  # ended by the server
        except ConnectionResetError:
            return True
        except (BrokenPipeError, socket.timeout) as e:
            return isinstance(e, BrokenPipeError)
        finally:
            s.close()

    good = subprocess.Popen([client, "--socket", h.portal("echo"), "--count", "1"])
    check(flood("echo"), "a client over IpcTotalBytes=1M is disconnected")
    check(good.wait(TIMEOUT) == 0, "another client is served")
    p = subprocess.run([client, "--socket", h.portal("echo")], capture_output=True, timeout=TIMEOUT)
    check(p.returncode == 0, "served after the offender left: %r" % p.stderr)
    wait_for(lambda: "over the server's byte quota" in h.svc("logs", "EchoServer").stdout,
             "the reason in EchoServer's log")
    check(not flood("free"), "without the key the same client is kept (the default quotas)")
    h.stop()


def test_socket_readiness(h):
    """Readiness=socket: ready once the service accepts on its socket (the
    manager's own connection), not when it exists or at exec."""
    h.service("Slow", args="--listen-delay 700", extra="Socket=slow\nReadiness=socket")
    h.service("Dependent", extra="Requires=Slow")
    h.start()  # READY=1 of the manager: everything that should start is ready
    check(h.records("accepted", "Slow"), "Slow accepted the probe before the manager was ready: %r" % h.records())
    wait_for(lambda: h.records("start", "Dependent"), "Dependent started")  # it records after its exec
    recs = [(r["event"], r["name"]) for r in h.records()]
    check(recs.index(("accepted", "Slow")) < recs.index(("start", "Dependent")),
          "Dependent started only after Slow accepted: %r" % recs)
    # The probe is closed once accepted: a real client is served normally.
    s = h.connect("slow")
    check(h.hello(s)["name"] == "Slow", "Slow serves clients")
    s.close()
    # One that never accepts fails its start after TimeoutStartSec.
    h.service("Deaf", args="--listen-delay 600000",
              extra="Socket=deaf\nReadiness=socket\nTimeoutStartSec=0.3\nTimeoutStopSec=0.2")
    h.svc("reload")
    st = wait_for(lambda: h.status("Deaf")["state"] == "failed" and h.status("Deaf"), "Deaf failed")
    check("did not accept a connection on its socket" in st["reason"], "reason: %r" % st)
    h.stop()


def tiny_png(path):
    """A 2x2 RGB PNG, made here so the test needs no image tool."""
    import struct
    import zlib

    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)
    raw = b"".join(b"\0" + bytes([200, 10, 10] * 2) for _ in range(2))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_imagedecoder_shipped(h):
    """etc/services/ImageDecoder.ini as shipped: its limits and Pledge hold
    in each instance, and it still decodes (its own start-up fits them)."""
    build = os.path.dirname(os.path.dirname(os.path.dirname(TESTD)))
    exe_dir = os.path.join(build, "services", "ImageDecoder")
    cli = os.path.join(build, "utilities", "imgdecode", "imgdecode")
    if not os.path.exists(os.path.join(exe_dir, "ImageDecoder")) or not os.path.exists(cli):
        print("ImageDecoder not built")
        return SKIP
    if under_asan():
        print("ASan cannot start under the shipped LimitAS")
        return SKIP
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "etc", "services",
                       "ImageDecoder.ini")
    with open(src) as f:
        h.define("ImageDecoder.ini", f.read())
    h.start("--service-path", exe_dir)
    s = h.connect("image")  # one instance for this connection
    st = wait_for(lambda: h.status("ImageDecoder")["pid"] and h.status("ImageDecoder"), "instance started")
    pid = st["pid"]
    with open("/proc/%d/limits" % pid) as f:
        lim = {ln[:26].strip(): ln[26:].split()[:2] for ln in f.read().splitlines()[1:]}
    check(lim["Max address space"] == [str(2 << 30)] * 2, "LimitAS=2G: %r" % lim)
    check(lim["Max cpu time"] == ["30", "31"], "LimitCPU=30:31: %r" % lim)
    check(lim["Max core file size"] == ["0", "0"], "LimitCORE=0: %r" % lim)
    check(lim["Max open files"] == ["1024", "1024"], "LimitNOFILE=1024: %r" % lim)
    with open("/proc/%d/status" % pid) as f:
        status = f.read()
    check("Seccomp:\t2" in status and "NoNewPrivs:\t1" in status, "under a seccomp filter")
    s.close()
    png = os.path.join(h.tmp, "in.png")
    tiny_png(png)
    p = subprocess.run([cli, "--info", "--socket", h.portal("image"), png], capture_output=True,
                       text=True, timeout=TIMEOUT)
    check(p.returncode == 0 and p.stdout.startswith("png 2x2 1 frame"),
          "decodes through the portal: rc %d %r %r\n%s" % (p.returncode, p.stdout, p.stderr, h.manager_log()))
    check("SIGSYS" not in h.manager_log(), "no sandbox violation:\n" + h.manager_log())
    h.stop()


def test_shipped_sandboxes(h):
    """Every shipped definition (etc/services/*.ini) as shipped, in a user
    session with a fresh XDG_CONFIG_HOME: each service answers one real call
    through its CLI from inside its Pledge=/Unveil= (and its own narrowing),
    runs under a seccomp filter with no_new_privs, and nothing is killed.
    Landlock shows nothing in /proc, so that a path outside each Unveil= is
    refused is checked with a probe (ss-testd) started from the same
    definition's Pledge= and Unveil= lines, expanded by the same manager."""
    build = os.path.dirname(os.path.dirname(os.path.dirname(TESTD)))
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "etc", "services")
    names = sorted(f[:-4] for f in os.listdir(src) if f.endswith(".ini"))
    clis = {n: os.path.join(build, "utilities", n, n) for n in ("config", "clip", "notify", "echo-client", "imgdecode")}
    missing = [n for n in names if not os.path.exists(os.path.join(build, "services", n, n))]
    missing += [c for c in clis.values() if not os.path.exists(c)]
    if missing or not SVC:
        print("not built: %r" % missing)
        return SKIP
    home = os.path.join(h.tmp, "home")
    os.mkdir(home, 0o700)
    cfg = os.path.join(h.tmp, "cfg")  # does not exist: the manager creates $XDG_CONFIG_HOME/haven
    secret = os.path.join(home, "secret")
    with open(secret, "w") as f:
        f.write("outside every Unveil=\n")
    os.environ.update(HOME=home, XDG_CONFIG_HOME=cfg)
    if under_asan():
        # Confined sanitized services cannot run LeakSanitizer (docs/sandbox.md).
        os.environ["ASAN_OPTIONS"] = "detect_leaks=0"
    sandbox_lines = {}
    for n in names:
        with open(os.path.join(src, n + ".ini")) as f:
            text = f.read()
        if under_asan():
            # ASan's shadow memory cannot fit a finite LimitAS (ImageDecoder.ini says so).
            # MemoryBudget= needs a finite LimitAS to charge: none then.
            text = "\n".join("LimitAS=infinity" if ln.startswith("LimitAS=") else ln
                             for ln in text.split("\n") if not ln.startswith("MemoryBudget="))
        h.define(n + ".ini", text)
        lines = [ln for ln in text.split("\n") if ln.startswith(("Pledge=", "Unveil="))]
        check(any(ln.startswith("Pledge=") for ln in lines), "%s.ini declares Pledge=" % n)
        check("unveil" not in [w for ln in lines if ln.startswith("Pledge=") for w in ln[7:].split()],
              "%s.ini needs no 'unveil' promise for its own narrowing" % n)
        if any(ln.startswith("Unveil=") for ln in lines):
            sandbox_lines[n] = lines
    # ImageDecoder again with a warm spare (SpareInstances=, issue #13): the
    # spare must carry the same sandbox as a cold instance.
    spare_text = [t for n, t in [(n, open(os.path.join(h.etc, n + ".ini")).read()) for n in names]
                  if n == "ImageDecoder"][0]
    spare_text = spare_text.replace("[ImageDecoder]", "[ImageDecoderSpare]").replace(
        "%portal/image", "%portal/image-spare") + "\nExecutable=ImageDecoder\nSpareInstances=1\n"
    h.define("ImageDecoderSpare.ini", spare_text)
    # EchoServer (which does not ask to leave when idle) as a spare: lib/ipc's
    # runner makes a spare leave with its one client.
    echo_pledge = [ln for ln in open(os.path.join(h.etc, "EchoServer.ini")).read().split("\n")
                   if ln.startswith("Pledge=")][0]
    h.define("EchoSpare.ini", "[EchoSpare]\nExecutable=EchoServer\nSocket=%%portal/echo-spare\n"
             "AcceptSocketConnections=true\nSpareInstances=1\n%s\n" % echo_pledge)
    spare_probe = [ln for ln in spare_text.split("\n") if ln.startswith(("Pledge=", "Unveil="))]
    for n, lines in sandbox_lines.items():
        # The probe writes its record file: one more entry, which only widens.
        probe = [ln + (", %s:w" % h.rec if ln.startswith("Unveil=") else "") for ln in lines]
        if under_asan():
            probe = [ln + " proc" if ln.startswith("Pledge=") else ln for ln in probe]
        h.service("Probe" + n, args="--try-open " + secret, extra="\n".join(probe))
    # The probe as a spare: it tries the file as it starts, before any client.
    probe = [ln + (", %s:w" % h.rec if ln.startswith("Unveil=") else "") for ln in spare_probe]
    if not any(ln.startswith("Unveil=") for ln in probe):
        probe.append("Unveil=%s:w, /usr:rx, /lib:rx, /lib64:rx, /etc/ld.so.cache:r, %s:rx" % (h.rec, build))
    # (wpath: the probe writes its record; it only widens)
    probe = [ln + " wpath cpath" if ln.startswith("Pledge=") else ln for ln in probe]
    if under_asan():
        probe = [ln + " proc" if ln.startswith("Pledge=") else ln for ln in probe]
    h.service("ProbeSpare", args="--try-open " + secret,
              extra="Socket=probe-spare\nAcceptSocketConnections=true\nSpareInstances=1\n" + "\n".join(probe))
    h.start("--service-path", os.path.join(build, "services", "*") + ":" + os.path.dirname(TESTD))
    env = dict(os.environ, HAVEN_PORTAL_DIR=os.path.join(h.rt, "portal"))

    def run(cmd, stdin=None):
        p = subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True, timeout=TIMEOUT)
        check(p.returncode == 0, "%s: rc %d %r %r\n%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr,
                                                         h.manager_log()))
        return p.stdout

    def confined(name, pid):
        with open("/proc/%d/status" % pid) as f:
            st = dict(ln.split(":\t", 1) for ln in f.read().splitlines() if ":\t" in ln)
        check(st.get("Seccomp", "").strip() == "2", "%s: Seccomp %r" % (name, st.get("Seccomp")))
        check(st.get("NoNewPrivs", "").strip() == "1", "%s: NoNewPrivs %r" % (name, st.get("NoNewPrivs")))

    def running_pid(name):
        return wait_for(lambda: h.status(name)["pid"], name + " running")

    # ConfigServer: a write lands in $XDG_CONFIG_HOME/haven, which did not exist.
    run([clis["config"], "set", "sandboxdefs", "Group", "key", "value 1"])
    check(run([clis["config"], "get", "sandboxdefs", "Group", "key"]).strip() == "value 1", "config get")
    check(os.path.exists(os.path.join(cfg, "haven", "sandboxdefs.ini")), "the value is in $XDG_CONFIG_HOME/haven")
    confined("ConfigServer", running_pid("ConfigServer"))
    # Clipboard: byte-exact round trip.
    run([clis["clip"], "copy"], stdin="hello from a sandbox\n")
    check(run([clis["clip"], "paste"]) == "hello from a sandbox\n", "clip paste")
    confined("Clipboard", running_pid("Clipboard"))
    # NotificationServer: shown, listed.
    nid = run([clis["notify"], "send", "Title", "Text"]).strip()
    check(nid.isdigit(), "notify send prints an id: %r" % nid)
    check("Title" in run([clis["notify"], "list"]), "notify list shows it")
    confined("NotificationServer", running_pid("NotificationServer"))
    # EchoServer.
    run([clis["echo-client"], "--socket", h.portal("echo")])
    confined("EchoServer", running_pid("EchoServer"))
    # ImageDecoder: an instance per connection; hold one open to look at it.
    s = h.connect("image")
    confined("ImageDecoder", running_pid("ImageDecoder"))
    s.close()
    png = os.path.join(h.tmp, "in.png")
    tiny_png(png)
    check(run([clis["imgdecode"], "--info", "--socket", h.portal("image"), png]).startswith("png 2x2"),
          "imgdecode --info")
    # NetworkServer: reads the interfaces; under a root manager as nobody
    # with CAP_NET_ADMIN alone (AmbientCapabilities=).
    net = os.path.join(build, "utilities", "net", "net")
    if "NetworkServer" in names and os.path.exists(net):
        check(" lo: " in run([net, "list"]), "net list shows lo")
        pid = running_pid("NetworkServer")
        confined("NetworkServer", pid)
        if os.geteuid() == 0:
            with open("/proc/%d/status" % pid) as f:
                st = dict(ln.split(":\t", 1) for ln in f.read().splitlines() if ":\t" in ln)
            check(st["Uid"].split()[0] == "65534", "NetworkServer runs as nobody: %r" % st["Uid"])
            check(st["CapEff"].strip() == "%016x" % (1 << 12), "NetworkServer: CapEff %r" % st["CapEff"])

    for n in sandbox_lines:
        rec = wait_for(lambda: h.records("open", "Probe" + n), "Probe%s tried %s" % (n, secret))
        check(int(rec[0]["result"]) == 13, "outside %s's Unveil=: EACCES, got %r" % (n, rec))
    # The spares: confined before any client, the probe refused outside its
    # view, and the spare answers a real call (then a new one waits).
    rec = wait_for(lambda: h.records("open", "ProbeSpare"), "the spare probe tried %s" % secret)
    check(int(rec[0]["result"]) == 13, "a spare, outside its Unveil=: EACCES, got %r" % rec)
    spare = running_pid("ImageDecoderSpare")
    confined("ImageDecoderSpare (a spare, no client yet)", spare)
    check(run([clis["imgdecode"], "--info", "--socket", h.portal("image-spare"), png]).startswith("png 2x2"),
          "imgdecode --info through a spare")
    wait_for(lambda: not pid_alive(spare), "the spare served its one client and left")
    spare = running_pid("EchoSpare")
    confined("EchoSpare (a spare)", spare)
    run([clis["echo-client"], "--socket", h.portal("echo-spare")])
    wait_for(lambda: not pid_alive(spare), "the EchoServer spare served its one client and left")
    confined("ImageDecoderSpare (its replacement)", running_pid("ImageDecoderSpare"))
    log = h.manager_log()
    check("SIGSYS" not in log and "sandbox violation" not in log, "no sandbox violation:\n" + log)

    # The running services themselves made to step outside (tests/lib/syscall-inject
    # runs one call inside them): a file outside their view, then a network socket.
    if not INJECT:
        print("syscall-inject not built: escape attempts skipped")
        h.stop()
        return

    def inject(name, pid, *what):
        p = subprocess.run([INJECT, str(pid)] + list(what), capture_output=True, text=True, timeout=TIMEOUT)
        if p.returncode == 77:
            return None
        check(p.returncode == 0, "syscall-inject %s %s: rc %d %r" % (name, what, p.returncode, p.stderr))
        return p.stdout.strip()

    def killed_by_sandbox(name, pid, out, call):
        check(out in ("killed SIGSYS", "signal SIGSYS"), "%s: killed by its sandbox, got %r" % (name, out))
        wait_for(lambda: h.manager_log().count(name + ": killed by SIGSYS") > kills[name],
                 "the manager saw %s die of SIGSYS" % name)
        kills[name] += 1
        # The call is named where the service's owner looks (the service's own
        # SIGSYS handler, or the manager's supervisor when it is the one refusing).
        if SVC:
            named = "pledge: system call " + call
            wait_for(lambda: named in h.svc("logs", name).stdout, "svc logs %s names %s" % (name, call))

    kills = {n: h.manager_log().count(n + ": killed by SIGSYS") for n in names}
    for n, again in (("ConfigServer", lambda: run([clis["config"], "get", "sandboxdefs", "Group", "key"])),
                     ("Clipboard", lambda: run([clis["clip"], "paste"])),
                     ("NotificationServer", lambda: run([clis["notify"], "list"])),
                     ("EchoServer", lambda: run([clis["echo-client"], "--socket", h.portal("echo")]))):
        pid = running_pid(n)
        out = inject(n, pid, "open", secret)
        if out is None:
            print("ptrace not permitted here: escape attempts skipped")
            break
        if n in sandbox_lines:
            # Landlock: refused, and the service goes on serving.
            check(out == "result -13", "%s opening %s: EACCES, got %r" % (n, secret, out))
            again()
            check(h.status(n)["pid"] == pid, "%s still the same process" % n)
        else:
            # Narrowed to no filesystem promise at all: seccomp ends it.
            killed_by_sandbox(n, pid, out, "openat")
            again()
            pid = running_pid(n)
        killed_by_sandbox(n, pid, inject(n, pid, "socket-inet"), "socket")
        again()  # respawned (KeepAlive) or started again on demand (Lazy)
        print("%s: a file outside its view and an inet socket refused" % n)
    h.stop()


def test_run_system(h):
    """make run: the shipped definitions from the build tree, Ctrl-C ends it."""
    build = os.path.dirname(os.path.dirname(os.path.dirname(SS)))
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "run-system")
    env = dict(os.environ, XDG_RUNTIME_DIR=h.xdg)
    p = subprocess.Popen([script, build], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end:
            line = p.stdout.readline()
            check(line != "", "run-system ended early:\n" + "".join(lines))
            lines.append(line)
            if "Ctrl-C stops everything" in line:
                break
        text = "".join(lines)
        portal = os.path.join(h.xdg, "haven", "portal")
        check("Portals in " + portal in text and "svc status" in text, "says where and what to try:\n" + text)
        check("0 problem(s)" in text, "the shipped definitions load cleanly:\n" + text)
        if SVC:
            st = subprocess.run([SVC, "status", "--json"], env=env, capture_output=True, text=True,
                                timeout=TIMEOUT)
            check(st.returncode == 0 and json.loads(st.stdout), "svc finds the session's manager")
        p.send_signal(signal.SIGINT)
        rest, _ = p.communicate(timeout=TIMEOUT)
        check(p.returncode == 0, "Ctrl-C: clean exit, got %d\n%s" % (p.returncode, rest))
        check("shutdown complete" in rest, "ordered shutdown")
        socks = [f for f in os.listdir(portal) if f != "SystemServer"] if os.path.isdir(portal) else []
        check(not socks, "sockets removed: %r" % socks)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


TESTS = {n[5:]: f for n, f in globals().items() if n.startswith("test_")}
SYSTEM_MODE = {"privdrop", "per_user", "control_quota"}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in TESTS:
        print("usage: test_systemserver.py {%s}" % ",".join(TESTS), file=sys.stderr)
        return 2
    name = sys.argv[1]
    become_subreaper()
    h = Harness(system=name in SYSTEM_MODE)
    try:
        rc = TESTS[name](h)
        if rc == SKIP:
            print("SKIP %s" % name)  # the test printed why
            return SKIP
    except (Fail, OSError) as e:
        print("FAIL %s: %s" % (name, e))
        if h.proc:
            print("--- manager log ---\n" + h.manager_log())
        return 1
    finally:
        h.cleanup()
    print("ok %s" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
