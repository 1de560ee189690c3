"""Tasks the pool anchors' workers run (a module of their own, not __main__, so
that every start method can unpickle them)."""
import os
import signal
import time


def sq(x):
    return x * x


def spin(seconds):
    """Spin the CPU; the hard time limit kills it first."""
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        x += 1
    return x


def spin_until_soft(seconds):
    """Spin until billiard's soft limit raises SoftTimeLimitExceeded here; return when (monotonic s)."""
    from billiard.exceptions import SoftTimeLimitExceeded
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            pass
    except SoftTimeLimitExceeded:
        return time.monotonic()
    raise RuntimeError("soft limit not seen within %s s" % seconds)


def kill_self():
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(30)


def pid(_=None, sleep=0.0):
    """The worker's pid (warm-up, readiness checks)."""
    if sleep:
        time.sleep(sleep)
    return os.getpid()
