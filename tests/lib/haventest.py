"""haventest.py — what the Python tests share (tests/SystemServer,
tests/WebServer): a failure type, check() and wait_for(). Import with
tests/lib on sys.path."""
import time


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def wait_for(cond, what, timeout):
    """cond()'s first true value, polled every 20 ms; Fail after timeout s
    (a bound against hangs, not a timing check)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise Fail("timed out waiting for " + what)
