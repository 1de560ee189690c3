"""Synchronization and shared-memory anchors for bench/suites/sync.js.

Usage: sync_bench.py --lib multiprocessing|billiard --case lock|contend|event|fill
                     [--count N] [--rounds R] [--mib M]
lock:    uncontended Lock acquire+release, ns/op per batch of --count
contend: two forked processes, each --count `with lock: v.value += 1` on a
         Value(lock=False) guarded by one Lock; ops/s per round
event:   Event ping-pong with a forked child, µs per round trip
fill:    a forked child fills a --mib MiB shared float64 array (slice copy of a
         prepared buffer), the parent sums it (sum(memoryview.cast('d'))); MiB/s
Prints {"samples": [...]}.
"""
import argparse
import time

from _common import emit, get_context, load_lib


def contend_child(lock, value, go, done, n):
    go.wait()
    for _ in range(n):
        with lock:
            value.value += 1
    done.release()


def pong_child(ping, pong, n):
    for _ in range(n):
        ping.wait()
        ping.clear()
        pong.set()


def fill_child(arr, go, done, rounds):
    mv = memoryview(arr).cast('B')
    for r in range(rounds):
        pattern = (bytes(memoryview(__import__('array').array('d', [float(r + 1)])).cast('B'))) * (len(mv) // 8)
        go.acquire()
        mv[:] = pattern
        done.release()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default="multiprocessing")
    ap.add_argument("--case", required=True)
    ap.add_argument("--count", type=int, default=1000000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--mib", type=int, default=32)
    args = ap.parse_args()
    mp = load_lib(args.lib)
    ctx = get_context(mp, "fork")
    clock = time.perf_counter_ns
    samples = []
    if args.case == "lock":
        lock = ctx.Lock()
        acq, rel = lock.acquire, lock.release
        for _ in range(args.rounds):
            t0 = clock()
            for _ in range(args.count):
                acq()
                rel()
            samples.append((clock() - t0) / args.count)
    elif args.case == "contend":
        for _ in range(args.rounds):
            lock = ctx.Lock()
            value = ctx.Value('i', 0, lock=False)
            go = ctx.Event()
            done = ctx.Semaphore(0)
            ps = [ctx.Process(target=contend_child, args=(lock, value, go, done, args.count)) for _ in range(2)]
            for p in ps:
                p.start()
            time.sleep(0.2)
            t0 = clock()
            go.set()
            done.acquire()
            done.acquire()
            s = (clock() - t0) / 1e9
            for p in ps:
                p.join()
            if value.value != 2 * args.count:
                emit({"error": "lost updates"}, 1)
            samples.append(2 * args.count / s)
    elif args.case == "event":
        ping, pong = ctx.Event(), ctx.Event()
        warm = 200
        p = ctx.Process(target=pong_child, args=(ping, pong, args.count + warm))
        p.start()
        for i in range(args.count + warm):
            t0 = clock()
            ping.set()
            pong.wait()
            pong.clear()
            if i >= warm:
                samples.append((clock() - t0) / 1e3)
        p.join()
    elif args.case == "fill":
        n = args.mib * (1 << 20) // 8
        arr = ctx.RawArray('d', n)
        go, done = ctx.Semaphore(0), ctx.Semaphore(0)
        p = ctx.Process(target=fill_child, args=(arr, go, done, args.rounds))
        p.start()
        mv = memoryview(arr).cast('B').cast('d')
        for r in range(args.rounds):
            t0 = clock()
            go.release()
            done.acquire()
            total = sum(mv)
            s = (clock() - t0) / 1e9
            if total != n * (r + 1):
                emit({"error": "bad sum %r" % total}, 1)
            samples.append(args.mib / s)
        p.join()
    else:
        emit({"error": "unknown case %r" % args.case}, 2)
    emit({"samples": samples})


if __name__ == "__main__":
    main()
