"""Pool throughput and latency with tiny tasks (sq: x*x), for multiprocessing and billiard.

Usage: pool_throughput.py --lib multiprocessing|billiard --mode MODE --n N
                          --repeat R --warmup W --processes 2
MODE: map            pool.map(sq, range(n)) with the default chunksize; sample = tasks/s
      imap_unordered list(pool.imap_unordered(sq, range(n), 1));         sample = tasks/s
      apply_async    n apply_async(sq) at once, then get() each;         sample = tasks/s
      apply          n sequential pool.apply(sq) round trips;            sample = us each
The pool is started (default start method: fork) and warmed up untimed.
Prints {"samples": [...], ...} before closing the pool (billiard's terminate() can hang;
see _pool_util.py). SIGUSR2 dumps every thread's stack to stderr.
"""
import argparse
import faulthandler
import signal
import time

from _common import load_lib
from _pool_util import report_and_exit
from _pool_tasks import sq, pid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default="multiprocessing")
    ap.add_argument("--mode", required=True, choices=["map", "imap_unordered", "apply_async", "apply"])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    faulthandler.register(signal.SIGUSR2, all_threads=True)
    mp = load_lib(args.lib)
    clock = time.perf_counter
    n = args.n
    pool = mp.Pool(args.processes)
    try:
        # Every worker up before timing.
        pool.map(pid, range(4 * args.processes), 1)

        def once_rate():
            t0 = clock()
            if args.mode == "map":
                r = pool.map(sq, range(n))
                assert len(r) == n and r[-1] == (n - 1) * (n - 1)
            elif args.mode == "imap_unordered":
                k = 0
                for _ in pool.imap_unordered(sq, range(n), 1):
                    k += 1
                assert k == n
            else:
                rs = [pool.apply_async(sq, (i,)) for i in range(n)]
                total = 0
                for r in rs:
                    total += r.get()
                assert rs[-1].get() == (n - 1) * (n - 1)
            return n / (clock() - t0)

        if args.mode == "apply":
            apply = pool.apply
            for i in range(args.warmup * 200):
                apply(sq, (i,))
            samples = []
            for _ in range(args.repeat):
                for i in range(n):
                    t0 = clock()
                    apply(sq, (i,))
                    samples.append((clock() - t0) * 1e6)
        else:
            full_n = n
            n = min(n, 5000)  # warm-up: a small burst is enough
            for _ in range(args.warmup):
                once_rate()
            n = full_n
            samples = [once_rate() for _ in range(args.repeat)]
    except Exception as exc:  # noqa: BLE001
        report_and_exit({"error": "%s: %r" % (args.mode, exc)}, [pool])
    report_and_exit({"samples": samples, "lib": args.lib, "mode": args.mode, "n": n}, [pool])


if __name__ == "__main__":
    main()
