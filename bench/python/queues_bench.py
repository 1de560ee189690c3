"""Queue anchors for bench/suites/queues.js.

Usage: queues_bench.py --lib multiprocessing|billiard --case small|bytes|mpmc
                       [--count N] [--size BYTES] [--rounds R]
small: one forked producer puts --count small ints, the parent gets them; msgs/s
bytes: one forked producer puts --count bytes objects of --size, the parent gets them; MiB/s
mpmc:  2 forked producers put --count ints each, 2 forked consumers get them; msgs/s
Timing starts when the producers are released (an Event), after they started.
Prints {"samples": [...]}.
"""
import argparse
import time

from _common import emit, get_context, load_lib


def producer(q, go, n, item):
    go.wait()
    put = q.put
    for i in range(n):
        put(i if item is None else item)


def consumer(q, n, done):
    get = q.get
    for _ in range(n):
        get()
    done.release()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default="multiprocessing")
    ap.add_argument("--case", required=True)
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--size", type=int, default=1 << 20)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    mp = load_lib(args.lib)
    ctx = get_context(mp, "fork")
    clock = time.perf_counter
    samples = []
    for _ in range(args.rounds):
        q = ctx.Queue()
        go = ctx.Event()
        if args.case in ("small", "bytes"):
            item = None if args.case == "small" else b"\x01" * args.size
            p = ctx.Process(target=producer, args=(q, go, args.count, item))
            p.start()
            time.sleep(0.2)
            get = q.get
            t0 = clock()
            go.set()
            for _ in range(args.count):
                get()
            s = clock() - t0
            p.join()
            if args.case == "small":
                samples.append(args.count / s)
            else:
                samples.append(args.count * args.size / (1 << 20) / s)
        elif args.case == "mpmc":
            done = ctx.Semaphore(0)
            ps = [ctx.Process(target=producer, args=(q, go, args.count, None)) for _ in range(2)]
            cs = [ctx.Process(target=consumer, args=(q, args.count, done)) for _ in range(2)]
            for p in ps + cs:
                p.start()
            time.sleep(0.3)
            t0 = clock()
            go.set()
            done.acquire()
            done.acquire()
            s = clock() - t0
            for p in ps + cs:
                p.join()
            samples.append(2 * args.count / s)
        else:
            emit({"error": "unknown case %r" % args.case}, 2)
    emit({"samples": samples})


if __name__ == "__main__":
    main()
