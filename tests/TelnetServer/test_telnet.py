#!/usr/bin/env python3
"""TelnetServer end to end with Debian's telnet client inside tmux (a fixed
100x30 window on a private tmux socket), and raw sockets for bad input.

  test_telnet.py instance|login|bad_input|backpressure   (TS_BIN, LS_BIN)
  test_telnet.py tmux PORT [USER PASSWORD UID]
                                the client checks alone, against a server
                                someone else runs (test-session.sh), with a
                                login through LoginServer first if given

`instance` starts TelnetServer as SystemServer's AcceptSocketConnections
does (the accepted connection as fd 3, LISTEN_FDS=1), so its exit status
is seen; bad_input also runs `TelnetServer --port N --no-auth`, accepting
itself, and a whole session through it after the bad connections.
No timed assertions: waits poll a condition with a generous bound.
"""
import errno
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

TS = os.environ.get("TS_BIN")
TIMEOUT = 30.0
SKIP = 77

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from haventest import Fail, check  # noqa: E402
import haventest  # noqa: E402

IAC, SB, SE, WILL, WONT, DO = 255, 250, 240, 251, 252, 253
# A raw client's answer to our offers (TTYPE, NAWS, NEW-ENVIRON: none), so
# the session starts without waiting for them.
REFUSE_ALL = bytes([IAC, WONT, 24, IAC, WONT, 31, IAC, WONT, 39])


def confined_env(**extra):
    """The environment of a TelnetServer: a pledged process cannot run
    LeakSanitizer's exit check (ptrace), as every confined service
    (docs/sandbox.md), so a sanitized build skips only that."""
    env = dict(os.environ, **extra)
    env["ASAN_OPTIONS"] = ":".join(x for x in [env.get("ASAN_OPTIONS", ""), "detect_leaks=0"] if x)
    return env


def wait_for(cond, what, timeout=TIMEOUT):
    return haventest.wait_for(cond, what, timeout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tmux:
    """A detached tmux server of our own (tmux -L NAME): only it is killed."""

    def __init__(self, cmd):
        self.name = "haven-telnet-%d-%d" % (os.getpid(), time.monotonic_ns() % 100000)
        self.run("-f", "/dev/null", "new-session", "-d", "-x", "100", "-y", "30", "-s", "t", cmd)
        self.run("set-option", "-t", "t", "remain-on-exit", "on")

    def run(self, *args):
        return subprocess.run(["tmux", "-L", self.name] + list(args), capture_output=True, text=True,
                              timeout=TIMEOUT)

    def keys(self, *keys):
        self.run("send-keys", "-t", "t", *keys)

    def line(self, text):
        self.keys("-l", text)
        self.keys("Enter")

    def screen(self):
        return self.run("capture-pane", "-p", "-J", "-S", "-200", "-t", "t").stdout

    def expect(self, pattern, what):
        try:
            return wait_for(lambda: re.search(pattern, self.screen(), re.M), what)
        except Fail:
            raise Fail("%s; the screen:\n%s" % (what, self.screen()))

    def kill(self):
        self.run("kill-server")


def log_in(t, user, password):
    """LoginServer's conversation on the telnet line: a wrong password
    first (Login incorrect, asked again), then the right one; neither
    shows on the screen."""
    t.expect(r"login: $", "the login prompt")
    t.line(user)
    t.expect(r"^Password: ?$", "LoginServer's password prompt")
    t.line("wrong-" + password)
    t.expect(r"^Login incorrect", "a wrong password is refused")
    t.expect(r"login: $", "the login prompt again")
    t.line(user)
    t.expect(r"(?s)Login incorrect.*Password: ?$", "the password prompt again")
    t.line(password)
    t.expect(r"\$ $", "the user's shell prompts")  # (typed ahead, a line would not echo)
    t.line("echo UID=$(id -u)")
    t.expect(r"^UID=\d+$", "a shell as the user")
    check(password not in t.screen(), "the password was echoed:\n" + t.screen())


def client_checks(port, term="vt220", login=None):
    """What a person at Debian's telnet client sees, step by step; login:
    (user, password, uid) to log in through LoginServer first."""
    t = Tmux("env TERM=%s telnet 127.0.0.1 %d" % (term, port))
    try:
        t.expect(r"^Escape character is", "telnet connected")
        if login:
            log_in(t, login[0], login[1])
            t.expect(r"^UID=%d$" % login[2], "the session runs as the user's uid")
        t.line("echo READY-$((1+1))")
        t.expect(r"^READY-2", "the shell answers")
        t.line("echo SZ=$(stty size)")
        t.expect(r"^SZ=30 100$", "stty size is the client's window (NAWS)")
        # A foreground program that waits for SIGWINCH: the resize reaches it.
        t.line("/usr/bin/python3 -c \"import signal; signal.signal(signal.SIGWINCH, lambda *a: "
               "print('GOT-' + 'WINCH', flush=True)); print('WAIT' + 'ING', flush=True); signal.pause()\"")
        t.expect(r"^WAITING$", "a program waiting for SIGWINCH")
        t.run("resize-window", "-t", "t", "-x", "120", "-y", "40")
        t.expect(r"^GOT-WINCH$", "SIGWINCH reached the foreground program")
        t.line("echo SZ2=$(stty size)")
        t.expect(r"^SZ2=40 120$", "stty size follows tmux resize-window")
        t.line("echo TERM=$TERM")
        t.expect(r"^TERM=%s$" % term, "TERM is the client's terminal type (TTYPE)")
        # The client stops echoing (our WILL ECHO) and a no-echo read shows nothing.
        t.line("read -s -p 'Password: ' pw; echo; echo GOT-${#pw}")
        t.expect(r"^Password: ?$", "read's prompt (not the echoed command)")
        t.line("hunter2")
        t.expect(r"^GOT-7$", "the secret was read")
        check("hunter2" not in t.screen(), "the secret was echoed:\n" + t.screen())
        t.line("sleep 100")
        time.sleep(0.3)  # not a check: Ctrl-C is meant for the running sleep
        t.keys("C-c")
        t.line("echo AFTER-$((4*4))")
        t.expect(r"^AFTER-16$", "Ctrl-C interrupted sleep 100")
        t.line("sleep 100")
        time.sleep(0.3)
        t.keys("C-]")
        t.expect(r"^telnet> ", "telnet's command prompt")
        t.line("send ip")  # IAC IP
        t.line("echo IP-$((5*5))")
        t.expect(r"^IP-25$", "IAC IP interrupted sleep 100")
        t.line("exit")
        t.expect(r"^Connection closed by foreign host", "exit closes the connection")
    finally:
        t.kill()


def spawn_instance(conn, *extra, stderr=None):
    """TelnetServer as SystemServer starts a per-connection instance
    (--no-auth unless extra says --login-socket)."""
    os.set_inheritable(conn.fileno(), True)
    env = confined_env(LISTEN_FDS="1", LISTEN_FDNAMES="connection")
    mode = [] if any(a.startswith("--login-socket") for a in extra) else ["--no-auth"]
    return subprocess.Popen([TS] + mode + list(extra), env=env, stderr=stderr,
                            preexec_fn=lambda: os.dup2(conn.fileno(), 3), close_fds=True,
                            pass_fds=(3, conn.fileno()))


class Inetd:
    """A listening socket whose connections each get an instance."""

    def __init__(self, log, *extra):
        self.extra = extra
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.log = log

    def accept(self):
        self.sock.settimeout(TIMEOUT)
        conn, _ = self.sock.accept()
        p = spawn_instance(conn, *self.extra, stderr=self.log)
        conn.close()
        return p


def test_instance(tmp):
    """A connection's instance, with the client checks; `exit` ends it with 0."""
    log = open(os.path.join(tmp, "ts.log"), "w+")
    inetd = Inetd(log)
    import threading
    box = {}
    th = threading.Thread(target=lambda: box.setdefault("p", inetd.accept()))
    th.start()
    try:
        client_checks(inetd.port)
    finally:
        th.join()
    p = box["p"]
    rc = p.wait(TIMEOUT)
    log.seek(0)
    text = log.read()
    check(rc == 0, "the instance exited %d:\n%s" % (rc, text))
    check("WITHOUT A LOGIN" in text, "--no-auth says so loudly:\n" + text)


def test_login(tmp):
    """Logins through a real LoginServer (PAM's test doubles: pam_wrapper
    with pam_matrix, nss_wrapper for the user, as tests/LoginServer does):
    the prompts on the telnet line, the password never shown, a wrong one
    refused, then the client checks in the user's session; `exit` ends the
    instance with 0."""
    ls = os.environ.get("LS_BIN")
    lib = "/usr/lib/x86_64-linux-gnu"
    matrix = lib + "/pam_wrapper/pam_matrix.so"
    if not ls or os.getuid() != 0:
        print("SKIP: needs LoginServer and root (the session drops to another uid)")
        return SKIP
    for f in (lib + "/libpam_wrapper.so", lib + "/libnss_wrapper.so", matrix):
        if not os.path.exists(f):
            print("SKIP: %s missing (libpam-wrapper, libnss-wrapper)" % f)
            return SKIP
    os.chmod(tmp, 0o755)
    for d in ("pam.d", "home", "portal"):
        os.mkdir(os.path.join(tmp, d), 0o755)
    with open(os.path.join(tmp, "pam.d", "haven-login"), "w") as f:
        for t in ("auth", "account", "session"):
            f.write("%s required %s passdb=%s/passdb\n" % (t, matrix, tmp))
    with open(os.path.join(tmp, "passdb"), "w") as f:
        f.write("alice:s3cret-word:haven-login\n")
    with open(os.path.join(tmp, "passwd"), "w") as f:
        f.write("alice:x:4242:4242:Alice:%s/home:/bin/bash\n" % tmp)
    with open(os.path.join(tmp, "group"), "w") as f:
        f.write("alice:x:4242:\n")
    sock = os.path.join(tmp, "portal", "login")
    # A sanitized LoginServer needs its ASan runtime first among the preloads.
    asan = re.findall(r"(\S*libasan\.so\S*) \(", subprocess.run(["ldd", ls], capture_output=True,
                                                                text=True).stdout)
    env = dict(os.environ, LD_PRELOAD=":".join(asan[:1] + [lib + "/libpam_wrapper.so", lib + "/libnss_wrapper.so"]),
               PAM_WRAPPER="1", PAM_WRAPPER_SERVICE_DIR=os.path.join(tmp, "pam.d"),
               NSS_WRAPPER_PASSWD=os.path.join(tmp, "passwd"), NSS_WRAPPER_GROUP=os.path.join(tmp, "group"))
    lslog = open(os.path.join(tmp, "ls.log"), "w+")
    env["ASAN_OPTIONS"] = ":".join(x for x in [env.get("ASAN_OPTIONS", ""), "detect_leaks=0"] if x)
    lsp = subprocess.Popen([ls, "--socket", sock, "--runtime-root", os.path.join(tmp, "rt"),
                            "--fail-delay-ms", "100", "--backoff-ms", "0"], env=env, stderr=lslog)
    log = open(os.path.join(tmp, "ts.log"), "w+")
    try:
        wait_for(lambda: os.path.exists(sock), "LoginServer's socket")
        inetd = Inetd(log, "--login-socket", sock)
        import threading
        box = {}
        th = threading.Thread(target=lambda: box.setdefault("p", inetd.accept()))
        th.start()
        try:
            client_checks(inetd.port, login=("alice", "s3cret-word", 4242))
        except Fail as e:
            log.seek(0)
            lslog.seek(0)
            raise Fail("%s\nTelnetServer:\n%s\nLoginServer:\n%s" % (e, log.read(), lslog.read()))
        finally:
            th.join()
        rc = box["p"].wait(TIMEOUT)
        log.seek(0)
        text = log.read()
        check(rc == 0, "the instance exited %d:\n%s" % (rc, text))
        check("WITHOUT A LOGIN" not in text, "a login, not --no-auth")
    finally:
        lsp.terminate()
        lsp.wait(TIMEOUT)


def start_byhand(tmp, port):
    log = open(os.path.join(tmp, "byhand.log"), "w+")
    p = subprocess.Popen([TS, "--port", str(port), "--no-auth"], stderr=log, env=confined_env())

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_for(up, "TelnetServer listening")
    return p, log


def read_until_closed(s, limit=1 << 24):
    """Everything the server sends until it closes; Fail if it does not."""
    s.settimeout(TIMEOUT)
    got = b""
    try:
        while len(got) < limit:
            b = s.recv(65536)
            if not b:
                return got
            got += b
    except ConnectionResetError:
        return got
    except socket.timeout:
        raise Fail("the server did not close the connection")
    raise Fail("more than %d bytes" % limit)


def one_bad(tmp, name, send):
    """An instance fed `send(sock)`: it must close cleanly (exit 0, no signal)."""
    a, b = socket.socketpair()
    log = open(os.path.join(tmp, name + ".log"), "w+")
    p = spawn_instance(b, stderr=log)
    b.close()
    try:
        send(a)
        read_until_closed(a)
    except (BrokenPipeError, ConnectionResetError):
        pass
    except OSError as e:
        # The instance may close first (that is the point): then even our
        # shutdown(SHUT_WR) of a socket pair fails with ENOTCONN.
        if e.errno != errno.ENOTCONN:
            raise
    finally:
        a.close()
    rc = p.wait(TIMEOUT)
    log.seek(0)
    check(rc == 0, "%s: the instance exited %d:\n%s" % (name, rc, log.read()))
    return log


def test_bad_input(tmp):
    def endless_sb(s):
        s.sendall(bytes([IAC, SB, 24, 0]))
        chunk = b"A" * 65536
        for _ in range(64):  # 4 MiB: far past any bound the server may keep
            s.sendall(chunk)
    log = one_bad(tmp, "endless_sb", endless_sb)
    log.seek(0)
    check("endless subnegotiation" in log.read(), "the endless subnegotiation is named in the log")

    def garbage(s):
        import random
        rnd = random.Random(24)
        junk = bytes(rnd.choice([IAC, IAC, SB, SE, WILL, DO, 0, 1, 24, 31, 39, 244, 65])
                     for _ in range(200000))
        s.sendall(junk)
        s.shutdown(socket.SHUT_WR)
    one_bad(tmp, "garbage", garbage)

    def mid_negotiation(s):
        s.recv(100)
        s.sendall(bytes([IAC, WILL, 31, IAC, SB, 31, 0, 100]))  # half a NAWS
        s.shutdown(socket.SHUT_WR)
    one_bad(tmp, "mid_negotiation", mid_negotiation)

    def empty_and_odd(s):
        # valid framing, odd contents: empty TTYPE/NEW-ENVIRON, short NAWS,
        # an environment with a variable we refuse and a huge window
        s.sendall(bytes([IAC, SB, 24, IAC, SE, IAC, SB, 39, IAC, SE, IAC, SB, 31, 1, IAC, SE,
                         IAC, SB, 39, 0, 0]) + b"LD_PRELOAD" + bytes([1]) + b"/x.so" +
                  bytes([IAC, SE, IAC, SB, 31, 255, 255, 255, 255, IAC, SE]))
        s.sendall(REFUSE_ALL + b"exit\r\n")
    one_bad(tmp, "odd", empty_and_odd)

    def compress_bomb(s):
        # MCCP2 (COMPRESS2) was never offered; libtelnet would inflate
        # what follows: 64 MiB from 64 KiB.
        import zlib
        s.sendall(REFUSE_ALL + bytes([IAC, SB, 86, IAC, SE]) + zlib.compress(b"\0" * (64 << 20), 9))
    log = one_bad(tmp, "compress", compress_bomb)
    log.seek(0)
    check("protocol" in log.read(), "the compressed stream is refused, said in the log")

    # By hand: the same, then the server still serves a whole session.
    port = free_port()
    p, log = start_byhand(tmp, port)
    try:
        for send in (endless_sb, garbage, mid_negotiation):
            with socket.create_connection(("127.0.0.1", port)) as s:
                try:
                    send(s)
                    read_until_closed(s)
                except (BrokenPipeError, ConnectionResetError):
                    pass
        check(p.poll() is None, "the by-hand server still runs")
        client_checks(port)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(TIMEOUT)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def test_backpressure(tmp):
    """Neither direction buffers without bound: a client that does not read
    while the shell writes, and a shell that does not read while the client
    writes, leave the instance's memory where it was; the data all arrives
    once the other side reads."""
    a, b = socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    log = open(os.path.join(tmp, "bp.log"), "w+")
    p = spawn_instance(b, stderr=log)
    b.close()
    total = 16 * 1024 * 1024
    a.sendall(REFUSE_ALL)
    a.sendall(b"stty -echo; head -c %d /dev/zero | tr '\\0' '\\132'; echo; echo DONE-$((2+2))\r\n" % total)
    time.sleep(1)  # not a check: time for the shell to fill every buffer it can
    with open("/proc/%d/status" % p.pid) as f:
        check(re.search(r"Seccomp:\s+2", f.read()), "the relay runs pledged")
    base = rss_kib(p.pid)
    time.sleep(1)
    check(rss_kib(p.pid) < base + 4096, "the instance grew while the client read nothing")
    got = 0
    tail = b""
    a.settimeout(TIMEOUT)
    while b"DONE-4" not in tail:
        chunk = a.recv(1 << 20)
        check(chunk, "closed early")
        got += chunk.count(b"Z")  # \132: not in the echoed command
        tail = (tail + chunk)[-64:]
    check(got == total, "all %d bytes arrived (%d)" % (total, got))
    # The other way: the shell sleeps, the client writes until the
    # socket is full; then the shell reads it all.
    a.sendall(b"stty raw -echo; sleep 1; wc -c | tr -d ' '\r\n")
    a.setblocking(False)
    sent = 0
    end = time.monotonic() + 1
    while time.monotonic() < end:
        try:
            sent += a.send(b"y" * 65536)
        except BlockingIOError:
            time.sleep(0.01)
        except OSError as e:
            raise Fail("the connection ended while the client wrote: %s" % e)
    check(rss_kib(p.pid) < base + 4096, "the instance grew while the shell read nothing")
    a.setblocking(True)
    check(sent < 64 * 1024 * 1024, "the client was stopped (sent %d)" % sent)
    a.close()
    rc = p.wait(TIMEOUT)
    check(rc == 0, "exit %d" % rc)


TESTS = {"instance": test_instance, "login": test_login, "bad_input": test_bad_input,
         "backpressure": test_backpressure}


def main():
    if len(sys.argv) in (3, 6) and sys.argv[1] == "tmux":
        login = (sys.argv[3], sys.argv[4], int(sys.argv[5])) if len(sys.argv) == 6 else None
        try:
            client_checks(int(sys.argv[2]), login=login)
        except Fail as e:
            print("FAIL:", e)
            return 1
        print("ok")
        return 0
    if len(sys.argv) != 2 or sys.argv[1] not in TESTS:
        print(__doc__)
        return 2
    if not TS:
        print("TS_BIN not set")
        return SKIP
    with tempfile.TemporaryDirectory(prefix="haven-telnet-") as tmp:
        try:
            r = TESTS[sys.argv[1]](tmp)
        except Fail as e:
            print("FAIL:", e)
            return 1
    if r == SKIP:
        return SKIP
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
