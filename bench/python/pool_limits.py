"""billiard Pool supervision timings.

Usage: pool_limits.py --mode hard|soft|lost --runs N --limit-ms 100 --cap-s 15 --processes 2
hard: apply_async(spin, timeout=limit); sample = ms between the limit (accept time + limit)
      and get() raising TimeLimitExceeded.
soft: apply_async(spin_until_soft, soft_timeout=limit); sample = ms between the limit and
      the task catching SoftTimeLimitExceeded (worker's clock: monotonic, system-wide).
lost: apply_async(kill_self) (the task SIGKILLs its own worker); sample = ms between the
      task's acceptance and get() raising WorkerLostError (default lost_worker_timeout),
      capped at --cap-s.
Accept times are billiard's own (job._time_accepted, the worker's monotonic clock).
Only billiard: multiprocessing.Pool has neither time limits nor lost-worker detection.
Prints {"samples": [...], "errors": [...]} (before closing the pool: billiard's
terminate() can hang on a queue lock left held by a killed worker).
SIGUSR2 dumps every thread's stack to stderr (faulthandler), to see where it hangs.
"""
import argparse
import faulthandler
import random
import signal
import time

from _common import emit, load_lib
from _pool_util import report_and_exit
from _pool_tasks import kill_self, pid, spin, spin_until_soft


def unwrap(exc):
    """billiard's get() raises the job's error wrapped in ExceptionWithTraceback (.exc)."""
    return getattr(exc, "exc", exc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default="billiard")
    ap.add_argument("--mode", required=True, choices=["hard", "soft", "lost"])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--limit-ms", type=float, default=100)
    ap.add_argument("--cap-s", type=float, default=15)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--jitter-ms", type=float, default=1000,
                    help="random pause before each hard/soft run: billiard checks limits once a second, "
                         "so lateness depends on the phase; jitter samples it uniformly")
    args = ap.parse_args()
    faulthandler.register(signal.SIGUSR2, all_threads=True)
    if args.lib != "billiard":
        emit({"missing": "%s: no pool time limits / lost-worker detection" % args.lib})
    mp = load_lib("billiard")
    from billiard.exceptions import TimeLimitExceeded, WorkerLostError

    limit = args.limit_ms / 1000.0
    # enable_timeouts: billiard starts its TimeoutHandler only for pools created with
    # time limits (or this flag); per-call limits alone are otherwise ignored.
    from billiard.pool import Pool
    pool = Pool(args.processes, enable_timeouts=True)
    abandoned = []  # stalled pools: never terminate()d (that hangs), their workers SIGKILLed at exit
    samples, errors, detail = [], [], []

    def wait_ready(limit_s=3.0):
        """Both workers up and taking work (billiard's supervisor replaces a dead
        worker within ~0.8 s). False when the pool takes no work for limit_s."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            try:
                pids = set(pool.starmap_async(pid, [(i, 0.01) for i in range(8)], 1).get(timeout=2))
            except mp.TimeoutError:
                continue
            if len(pids) >= args.processes:
                return True
            time.sleep(0.05)
        return False

    try:
        if not wait_ready(15.0):
            emit({"error": "billiard pool did not start"}, 1)
        for _ in range(args.runs):
            if args.mode != "lost" and args.jitter_ms > 0:
                time.sleep(random.uniform(0, args.jitter_ms / 1000.0))
            if args.mode == "hard":
                r = pool.apply_async(spin, (30.0,), timeout=limit)
                try:
                    r.get(timeout=args.cap_s)
                    errors.append("task finished")
                except Exception as exc:  # noqa: BLE001
                    now = time.monotonic()
                    exc = unwrap(exc)
                    if isinstance(exc, TimeLimitExceeded):
                        samples.append((now - (r._time_accepted + limit)) * 1000)
                    else:
                        errors.append(repr(exc))
            elif args.mode == "soft":
                r = pool.apply_async(spin_until_soft, (30.0,), soft_timeout=limit)
                try:
                    caught = r.get(timeout=args.cap_s)
                    samples.append((caught - (r._time_accepted + limit)) * 1000)
                except Exception as exc:  # noqa: BLE001
                    errors.append(repr(exc))
            else:
                t0 = time.monotonic()
                r = pool.apply_async(kill_self)
                try:
                    r.get(timeout=args.cap_s)
                    errors.append("task finished")
                except mp.TimeoutError:
                    errors.append("no WorkerLostError within %s s" % args.cap_s)
                except Exception as exc:  # noqa: BLE001
                    now = time.monotonic()
                    exc = unwrap(exc)
                    if isinstance(exc, WorkerLostError):
                        start = r._time_accepted or t0
                        samples.append((now - start) * 1000)
                        detail.append(str(exc)[:120])
                    else:
                        errors.append(repr(exc))
            if not wait_ready():
                # billiard's pool can stall for good after killing a worker (a queue lock
                # left held by the killed worker): count it, start a fresh pool, go on.
                errors.append("pool stalled (no worker took new work for 3 s) after a %s run: new pool" % args.mode)
                abandoned.append(pool)
                pool = Pool(args.processes, enable_timeouts=True)
                if not wait_ready(15.0):
                    errors.append("replacement pool did not start")
                    break
    finally:
        report_and_exit({"samples": samples, "errors": errors, "detail": detail[:2], "mode": args.mode},
                        [pool] + abandoned)


if __name__ == "__main__":
    main()
