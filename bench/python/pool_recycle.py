"""Pool throughput when every worker is replaced after one task (maxtasksperchild=1).

Usage: pool_recycle.py --lib multiprocessing|billiard --method spawn|forkserver|fork
                       --n N --repeat R --processes 2
Prints {"samples": [tasks/s, ...]}: pool.map(sq, range(n), 1) on a warmed-up pool.
"""
import argparse
import time

from _common import emit, get_context, load_lib
from _pool_tasks import sq, pid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default="multiprocessing")
    ap.add_argument("--method", default="forkserver")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    mp = load_lib(args.lib)
    ctx = get_context(mp, args.method)
    pool = ctx.Pool(args.processes, maxtasksperchild=1)
    samples = []
    try:
        pool.map(pid, range(2 * args.processes), 1)
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            r = pool.map(sq, range(args.n), 1)
            samples.append(args.n / (time.perf_counter() - t0))
            assert r[-1] == (args.n - 1) ** 2
    finally:
        pool.terminate()
    emit({"samples": samples, "lib": args.lib, "method": args.method})


if __name__ == "__main__":
    main()
