"""Process start -> join latency: ctx.Process(target=noop); start(); join().

Usage: process_start.py --lib multiprocessing|billiard --method spawn|forkserver|fork
                        --iterations N --warmup W
Prints {"samples": [ms, ...], ...}. Warm-up starts (untimed) also start the
forkserver, so its one-off launch is not counted.
"""
import argparse
import time

from _common import emit, get_context, load_lib
from _tasks import noop


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default="multiprocessing")
    ap.add_argument("--method", default="spawn")
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    mp = load_lib(args.lib)
    ctx = get_context(mp, args.method)

    def once():
        t0 = time.perf_counter_ns()
        p = ctx.Process(target=noop)
        p.start()
        p.join()
        dt = (time.perf_counter_ns() - t0) / 1e6
        if p.exitcode != 0:
            emit({"error": "child exit code %s" % p.exitcode}, 1)
        return dt

    for _ in range(args.warmup):
        once()
    samples = [once() for _ in range(args.iterations)]
    emit({"samples": samples, "lib": args.lib, "method": args.method})


if __name__ == "__main__":
    main()
